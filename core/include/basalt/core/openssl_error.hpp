// The text of OpenSSL's error queue, for messages that say why a key,
// certificate or signature operation failed: `openssl_error("cannot sign")`
// -> std::runtime_error("cannot sign (bad signature)").
//
// Both functions read and clear the calling thread's OpenSSL error queue
// (OpenSSL keeps one per thread); they never throw.
#pragma once

#include <stdexcept>
#include <string>

namespace basalt::core {

// The reason of the most recent OpenSSL error ("unknown error" if none);
// clears the queue.
std::string openssl_reason();

// `what (reason)` as an exception to throw; clears the queue.
std::runtime_error openssl_error(std::string what);

}  // namespace basalt::core
