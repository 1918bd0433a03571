// DenialKeeper: every published ServerData has chains that fit its zones,
// handlers and signers; large zones get theirs from the background thread,
// and chains are re-signed when due.
#include "server/denial_keeper.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "basalt/dns/wire/rdata_types.hpp"
#include "basalt/dns/zone/zone_parser.hpp"

namespace basalt::dns {
namespace {

using namespace std::chrono_literals;

Name N(std::string_view s) {
  return *Name::from_text(s);
}

std::shared_ptr<const Zone> zone(std::string_view extra = "") {
  std::string text = R"(
$ORIGIN example.test.
$TTL 3600
@    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.80
)";
  text += extra;
  ZoneParseOptions opts;
  opts.origin = N("example.test.");
  return std::make_shared<const Zone>(Zone::build(opts.origin, parse_zone(text, opts)));
}

void add_handler(ServerData& d, std::string pattern) {
  d.handlers.add(std::make_shared<HandlerEntry>(
      HandlerEntry{.id = d.handlers.entries().size() + 1,
                   .glob = *core::Glob::compile(pattern, {.case_insensitive = true}),
                   .types = {RRType::kA},
                   .sync = [](const Query&) { return std::vector<Record>{}; }}));
}

// Polls `ready` for up to 10 s (the background thread's work).
bool eventually(const std::function<bool()>& ready) {
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    if (ready()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return ready();
}

class DenialKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SignerOptions so;
    so.clock = [this] { return now_.load(); };
    so.validity = 24h;
    so.refresh = 6h;
    signer_ = std::make_shared<const ZoneSigner>(
        N("example.test."),
        std::vector<SigningKey>{SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 0)}, so);
  }

  const DenialChain* chain() {
    held_ = data_.load();
    return held_->chains.empty() ? nullptr : held_->chains.front().get();
  }

  std::atomic<std::int64_t> now_{1'800'000'000};
  std::shared_ptr<const ZoneSigner> signer_;
  core::Snapshot<ServerData> data_;
  std::shared_ptr<const ServerData> held_;
};

TEST_F(DenialKeeperTest, SmallZonesGetAFittingChainInTheSamePublication) {
  DenialKeeper keeper(data_);
  keeper.update([&](ServerData& d) {
    d.zones.put(zone());
    d.signers.push_back(signer_);
  });
  ASSERT_NE(chain(), nullptr);
  EXPECT_NE(chain()->nsec_at(N("www.example.test.")), nullptr);

  // A replaced zone: the chain is the new zone's.
  keeper.update([&](ServerData& d) { d.zones.put(zone("new IN A 192.0.2.1\n")); });
  ASSERT_NE(chain(), nullptr);
  EXPECT_EQ(&chain()->zone(), held_->zones.find(N("example.test.")));
  EXPECT_NE(chain()->nsec_at(N("new.example.test.")), nullptr);

  // A handler region: the chain leaves it out.
  keeper.update([&](ServerData& d) { add_handler(d, "*.dyn.example.test"); });
  ASSERT_NE(chain(), nullptr);
  EXPECT_FALSE(chain()->answers(N("x.dyn.example.test.")));
  EXPECT_NE(chain()->nsec_at(N("dyn\\000.example.test.")), nullptr);

  // A handler reaching the whole zone: no chain, white lies everywhere.
  keeper.update([&](ServerData& d) { add_handler(d, "*.example.test"); });
  EXPECT_EQ(chain(), nullptr);
}

TEST_F(DenialKeeperTest, LargeZonesGetTheirChainFromTheBackground) {
  DenialKeeper keeper(data_, /*inline_names=*/0);
  keeper.update([&](ServerData& d) {
    d.zones.put(zone());
    d.signers.push_back(signer_);
  });
  EXPECT_TRUE(eventually([&] { return chain() != nullptr; }));
  EXPECT_EQ(&chain()->zone(), held_->zones.find(N("example.test.")));
}

TEST_F(DenialKeeperTest, ChainsAreResignedWhenDue) {
  DenialKeeper keeper(data_);
  keeper.update([&](ServerData& d) {
    d.zones.put(zone());
    d.signers.push_back(signer_);
  });
  ASSERT_NE(chain(), nullptr);
  const auto first = chain()->refresh_at();
  EXPECT_EQ(first, 1'800'000'000 + 18 * 3600);

  now_ = first;  // due: the background thread re-signs
  keeper.wake();
  ASSERT_TRUE(eventually([&] { return chain() && chain()->refresh_at() > first; }));
  EXPECT_EQ(chain()->refresh_at(), first + 18 * 3600);
  auto sig = *rdata::RRSIG::decode(chain()->records().front().signatures.front());
  EXPECT_EQ(sig.expiration, static_cast<std::uint32_t>(first + 24 * 3600));
}

}  // namespace
}  // namespace basalt::dns
