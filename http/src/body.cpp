#include "basalt/http/body.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstring>

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

class BodyCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "basalt.http.body"; }
  std::string message(int ev) const override {
    switch (static_cast<BodyError>(ev)) {
      case BodyError::kReset:
        return "the peer ended the stream before the body was complete";
      case BodyError::kAborted:
        return "the body's reader stopped reading";
      case BodyError::kTooLarge:
        return "body over the size limit";
      case BodyError::kTimeout:
        return "body timed out";
      case BodyError::kProtocol:
        return "malformed body framing";
    }
    return "unknown body error";
  }
};

// Parks a coroutine until cancel() wakes it (a one-shot event on a timer).
asio::awaitable<void> park(std::unique_ptr<asio::steady_timer>& timer, const asio::any_io_executor& ex) {
  if (!timer) timer = std::make_unique<asio::steady_timer>(ex);
  timer->expires_at(asio::steady_timer::time_point::max());
  error_code ignored;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

}  // namespace

const boost::system::error_category& body_category() noexcept {
  static const BodyCategory category;
  return category;
}

error_code make_error_code(BodyError e) noexcept {
  return {static_cast<int>(e), body_category()};
}

Body::Body(asio::any_io_executor executor, std::size_t capacity)
    : executor_(std::move(executor)), capacity_(std::max<std::size_t>(capacity, 1)) {}

Body::~Body() = default;

std::shared_ptr<Body> Body::complete(asio::any_io_executor executor, std::string bytes) {
  auto body = std::make_shared<Body>(std::move(executor));
  if (!bytes.empty()) body->push(std::move(bytes));
  body->finish();
  return body;
}

void Body::wake_reader() {
  if (reader_wait_) reader_wait_->cancel();
  if (on_readable_) on_readable_();
}

void Body::wake_writer() {
  if (writer_wait_) writer_wait_->cancel();
}

void Body::pop_front() {
  chunks_[head_++].clear();
  offset_ = 0;
  if (empty()) {
    chunks_.clear();
    head_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= chunks_.size()) {
    chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void Body::drop_all() {
  chunks_.clear();
  head_ = 0;
  offset_ = 0;
  buffered_ = 0;
}

void Body::consumed(std::size_t n) {
  if (n == 0) return;
  buffered_ -= n;
  if (buffered_ < capacity_) wake_writer();
  if (on_consumed_) on_consumed_(n);
}

asio::awaitable<std::string> Body::read(error_code& ec) {
  ec = {};
  for (;;) {
    if (error_) {
      ec = error_;
      co_return std::string();
    }
    if (!empty()) {
      std::string chunk = std::move(chunks_[head_]);
      if (offset_) chunk.erase(0, offset_);
      pop_front();
      consumed(chunk.size());
      co_return chunk;
    }
    if (ended_) {
      wake_writer();  // drained() waiters
      co_return std::string();
    }
    co_await park(reader_wait_, executor_);
  }
}

asio::awaitable<std::string> Body::read_all(std::size_t limit, error_code& ec) {
  std::string all;
  for (;;) {
    std::string chunk = co_await read(ec);
    if (ec) co_return std::string();
    if (chunk.empty()) co_return all;
    if (chunk.size() > limit - std::min(limit, all.size())) {
      ec = make_error_code(BodyError::kTooLarge);
      abort(ec);
      co_return std::string();
    }
    if (all.empty()) {
      all = std::move(chunk);
    } else {
      all.append(chunk);
    }
  }
}

std::size_t Body::take(std::span<std::uint8_t> out) {
  std::size_t n = 0;
  while (n < out.size() && !empty()) {
    auto& front = chunks_[head_];
    std::size_t k = std::min(out.size() - n, front.size() - offset_);
    std::memcpy(out.data() + n, front.data() + offset_, k);
    n += k;
    offset_ += k;
    if (offset_ == front.size()) pop_front();
  }
  consumed(n);
  if (done()) wake_writer();
  return n;
}

void Body::abort(error_code why) {
  if (aborted_) return;
  aborted_ = true;
  if (!error_) error_ = why;
  drop_all();
  wake_writer();
  wake_reader();
  if (auto f = std::move(on_abort_)) f(why);
}

bool Body::push(std::string_view bytes) {
  return push(std::string(bytes));
}

bool Body::push(std::string&& bytes) {
  if (aborted_ || error_ || ended_) return false;
  if (bytes.empty()) return true;
  received_ += bytes.size();
  buffered_ += bytes.size();
  chunks_.push_back(std::move(bytes));
  wake_reader();
  return true;
}

asio::awaitable<void> Body::write(std::string_view bytes, error_code& ec) {
  ec = {};
  while (!aborted_ && !error_ && buffered_ >= capacity_) co_await park(writer_wait_, executor_);
  if (aborted_ || error_) {
    ec = error_ ? error_ : make_error_code(BodyError::kAborted);
    co_return;
  }
  push(bytes);
}

void Body::finish(Headers trailers) {
  if (ended_ || error_ || aborted_) return;
  ended_ = true;
  trailers_ = std::move(trailers);
  wake_reader();
}

void Body::fail(error_code ec) {
  if (error_ || aborted_) return;
  error_ = ec ? ec : make_error_code(BodyError::kReset);
  drop_all();
  wake_reader();
  wake_writer();
}

asio::awaitable<void> Body::drained() {
  while (!aborted_ && !error_ && buffered_ > 0) co_await park(writer_wait_, executor_);
}

}  // namespace basalt::http
