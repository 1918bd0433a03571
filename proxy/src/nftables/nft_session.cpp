#include "nftables/nft_session.hpp"

#include <nftables/libnftables.h>

namespace basalt::proxy {

namespace {

std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

NftSession::NftSession() : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
  if (!ctx_) throw NftError("libnftables: cannot make a context");
  nft_ctx_buffer_output(ctx_);
  nft_ctx_buffer_error(ctx_);
}

NftSession::~NftSession() {
  nft_ctx_unbuffer_output(ctx_);
  nft_ctx_unbuffer_error(ctx_);
  nft_ctx_free(ctx_);
}

void NftSession::run(const std::string& script) {
  nft_ctx_output_set_flags(ctx_, 0);
  const int rc = nft_run_cmd_from_buffer(ctx_, script.c_str());
  const std::string error = trimmed(nft_ctx_get_error_buffer(ctx_));
  nft_ctx_get_output_buffer(ctx_);  // drops what the run printed
  if (rc != 0) throw NftError(error.empty() ? "nft: the transaction failed" : error);
}

std::optional<std::string> NftSession::query(const std::string& command, bool json) {
  nft_ctx_output_set_flags(ctx_, json ? NFT_CTX_OUTPUT_JSON : 0);
  const int rc = nft_run_cmd_from_buffer(ctx_, command.c_str());
  std::string out = nft_ctx_get_output_buffer(ctx_);
  nft_ctx_get_error_buffer(ctx_);
  nft_ctx_output_set_flags(ctx_, 0);
  if (rc != 0) return std::nullopt;
  return out;
}

}  // namespace basalt::proxy
