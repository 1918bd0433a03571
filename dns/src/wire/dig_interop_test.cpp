// Real peers: dig and kdig send a query to a loopback socket owned by this
// test; we parse it with MessageView, answer with MessageWriter, and check
// the tool prints every record the way we meant it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <sstream>

#include "basalt/dns/wire/message_view.hpp"
#include "basalt/dns/wire/message_writer.hpp"

namespace basalt::dns {
namespace {

bool have_tool(const char* tool) {
  std::string cmd = std::string("command -v ") + tool + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

// Collapses runs of whitespace so tool column alignment does not matter.
std::string squeeze(const std::string& s) {
  std::istringstream in(s);
  std::string word, out;
  while (in >> word) out += (out.empty() ? "" : " ") + word;
  return out;
}

class LoopbackSocket {
 public:
  LoopbackSocket() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~LoopbackSocket() { ::close(fd_); }
  int fd() const { return fd_; }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
};

const std::vector<std::pair<RRType, std::string>> kAnswers = {
    {RRType::kA, "192.0.2.1"},
    {RRType::kAAAA, "2001:db8::1"},
    {RRType::kMX, "10 mail.example.com."},
    {RRType::kTXT, "\"hello world\" \"second\""},
    {RRType::kSRV, "0 5 443 www.example.com."},
    {RRType::kCAA, "0 issue \"letsencrypt.org\""},
    {RRType::kDS, "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"},
    {RRType::kNSEC, "www.example.com. A AAAA RRSIG NSEC"},
    {RRType::kHTTPS, "1 . alpn=h2,h3 ipv4hint=192.0.2.1"},
    {RRType::kSOA, "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"},
};

// Serves one query on `sock`: checks it, answers with kAnswers. Returns the parsed query's description.
std::string serve_one(const LoopbackSocket& sock, bool expect_dnssec) {
  std::array<std::uint8_t, 65535> in;
  sockaddr_in peer{};
  socklen_t plen = sizeof peer;
  ssize_t n = ::recvfrom(sock.fd(), in.data(), in.size(), 0, reinterpret_cast<sockaddr*>(&peer), &plen);
  if (n <= 0) return "no query received";
  MessageView q;
  if (q.parse(ByteSpan(in.data(), static_cast<std::size_t>(n))) != WireError::kOk)
    return "query did not parse";
  if (!q.question().name.equals(*Name::from_text("www.example.com"))) return "wrong question";
  if (!q.has_edns() || q.edns().dnssec_ok != expect_dnssec || !q.edns().cookie())
    return "EDNS DO/cookie missing";
  std::array<std::uint8_t, 4096> out;
  MessageWriter w(out, q.edns().udp_payload_size);
  w.header().id = q.header().id;
  w.header().qr = true;
  w.header().aa = true;
  w.header().rd = q.header().rd;
  w.set_edns(1232, 0, q.edns().dnssec_ok);
  Name qname = q.question().name.to_name();
  w.add_question(qname, q.question().type, q.question().rclass);
  Name origin = *Name::from_text("example.com.");
  for (const auto& [type, text] : kAnswers) {
    auto rdata = rdata_from_text(type, text, origin, nullptr);
    if (!rdata) return "bad test data " + text;
    w.add_record(Section::kAnswer, qname, type, RRClass::kIN, 3600, *rdata);
  }
  std::size_t len = w.finish();
  ::sendto(sock.fd(), out.data(), len, 0, reinterpret_cast<sockaddr*>(&peer), plen);
  return "ok";
}

void check_tool(const char* tool, const std::string& args) {
  if (!have_tool(tool)) {
    if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true")
      FAIL() << tool << " is required under CI";
    GTEST_SKIP() << tool << " not installed";
  }
  LoopbackSocket sock;
  auto output = std::async(std::launch::async, [&] {
    return run(std::string(tool) + " @127.0.0.1 -p " + std::to_string(sock.port()) + " " + args + " 2>&1");
  });
  EXPECT_EQ(serve_one(sock, true), "ok");
  // kdig lowercases the name it sends, dig keeps it: compare case-insensitively.
  std::string text = squeeze(output.get());
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // dig quotes SvcParam values (alpn="h2,h3"); the unquoted form is equivalent.
  if (auto p = text.find("alpn=\"h2,h3\""); p != std::string::npos) text.replace(p, 12, "alpn=h2,h3");
  EXPECT_NE(text.find("noerror"), std::string::npos) << text;
  Name origin = *Name::from_text("example.com.");
  for (const auto& [type, rdata_text] : kAnswers) {
    auto rdata = rdata_from_text(type, rdata_text, origin, nullptr);
    std::string line = "WwW.ExAmPlE.cOm. 3600 IN " + to_string(type) + " " + rdata_to_text(type, *rdata);
    std::string want = squeeze(line);
    for (char& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_NE(text.find(want), std::string::npos) << tool << " did not print: " << line << "\n" << text;
  }
}

TEST(DigInterop, KdigParsesOurAnswerToItsQuery) {
  check_tool("kdig", "WwW.ExAmPlE.cOm A +dnssec +cookie +retry=0 +time=3");
}

TEST(DigInterop, DigParsesOurAnswerToItsQuery) {
  check_tool("dig", "WwW.ExAmPlE.cOm A +dnssec +cookie +tries=1 +time=3");
}

}  // namespace
}  // namespace basalt::dns
