#include "server/tcp_admission.hpp"

namespace basalt::dns {

std::shared_ptr<TcpAdmission> TcpAdmission::create(TcpAdmissionLimits limits) {
  return std::shared_ptr<TcpAdmission>(new TcpAdmission(limits));
}

core::Cidr TcpAdmission::network_of(const core::IpAddress& a) const {
  return core::Cidr(a, a.is_v4() ? limits_.prefix_v4 : limits_.prefix_v6);
}

std::size_t TcpAdmission::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

TcpAdmission::Ticket* TcpAdmission::pick_victim() {
  Ticket* victim = nullptr;
  std::size_t heaviest = 0;
  for (auto& [key, network] : per_network_) {
    if (network.tickets.size() <= heaviest) continue;
    for (Ticket* t : network.tickets) {  // oldest first
      if (t->idle_.load(std::memory_order_relaxed)) {
        victim = t;
        heaviest = network.tickets.size();
        break;
      }
    }
  }
  return victim;
}

std::unique_ptr<TcpAdmission::Ticket> TcpAdmission::admit(const core::IpAddress& client,
                                                          std::function<void()> evict, Verdict& verdict) {
  auto address = client.unmapped();
  auto network = network_of(address);
  std::function<void()> close_victim;
  std::unique_ptr<Ticket> ticket;
  {
    std::lock_guard lock(mutex_);
    auto a = per_address_.find(address);
    if (a != per_address_.end() && a->second >= limits_.per_address) {
      verdict = Verdict::kAddressFull;
      return nullptr;
    }
    auto n = per_network_.find(network.address());
    if (n != per_network_.end() && n->second.tickets.size() >= limits_.per_prefix) {
      verdict = Verdict::kPrefixFull;
      return nullptr;
    }
    if (open_ >= limits_.max_connections) {
      Ticket* victim = pick_victim();
      if (!victim) {
        verdict = Verdict::kServerFull;
        return nullptr;
      }
      // The victim's slot is free from now on; its connection closes soon.
      victim->evicted_ = true;
      close_victim = std::move(victim->evict_);
      auto& list = per_network_[victim->prefix_.address()].tickets;
      list.remove(victim);
      if (list.empty()) per_network_.erase(victim->prefix_.address());
      if (--per_address_[victim->address_] == 0) per_address_.erase(victim->address_);
      --open_;
      evicted_.fetch_add(1, std::memory_order_relaxed);
    }
    ticket.reset(new Ticket(shared_from_this(), address, network, std::move(evict)));
    per_network_[network.address()].tickets.push_back(ticket.get());
    ++per_address_[address];
    ++open_;
  }
  if (close_victim) close_victim();
  verdict = Verdict::kAdmitted;
  return ticket;
}

void TcpAdmission::release(Ticket& ticket) {
  std::lock_guard lock(mutex_);
  if (ticket.evicted_) return;
  auto n = per_network_.find(ticket.prefix_.address());
  if (n != per_network_.end()) {
    n->second.tickets.remove(&ticket);
    if (n->second.tickets.empty()) per_network_.erase(n);
  }
  if (auto a = per_address_.find(ticket.address_); a != per_address_.end() && --a->second == 0)
    per_address_.erase(a);
  --open_;
}

TcpAdmission::Ticket::~Ticket() {
  owner_->release(*this);
}

}  // namespace basalt::dns
