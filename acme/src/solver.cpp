#include "basalt/acme/solver.hpp"

#include "basalt/acme/jws.hpp"

#include <vector>

namespace basalt::acme {

std::string ChallengeTask::dns_record_name() const {
  std::string name = "_acme-challenge.";
  name += domain;
  return name;
}

std::string ChallengeSolver::choose(const std::vector<std::string>& offered, bool) const {
  for (const auto& t : offered) {
    if (t == type()) return t;
  }
  return {};
}

std::string ChallengeTask::dns_record_value() const {
  return dns01_txt_value(key_authorization);
}

}  // namespace basalt::acme
