#include "schedulers/scheduler.h"

#include <functional>

#include "core/error.h"
#include "schedulers/ddim_scheduler.h"
#include "schedulers/ddpm_scheduler.h"
#include "schedulers/dpm_solver_multistep_scheduler.h"
#include "schedulers/euler_ancestral_discrete_scheduler.h"
#include "schedulers/euler_discrete_scheduler.h"
#include "schedulers/heun_discrete_scheduler.h"
#include "schedulers/lcm_scheduler.h"
#include "schedulers/lms_discrete_scheduler.h"
#include "schedulers/pndm_scheduler.h"
#include "schedulers/uni_pc_multistep_scheduler.h"

namespace sdfast {

namespace {

using Factory = std::unique_ptr<Scheduler> (*)(const Config&);

template <class S>
std::unique_ptr<Scheduler> create(const Config& c) {
  return std::make_unique<S>(c);
}

struct ClassEntry {
  const char* name;
  Factory factory;
};

// `config` completed the way Diffusers completes it when it loads the model's scheduler: the
// defaults of its `_class_name` class for every key the file lacks.
nlohmann::json loaded_config(const Config& config);

constexpr ClassEntry kClasses[] = {
    {"DDIMScheduler", &create<DDIMScheduler>},
    {"DDPMScheduler", &create<DDPMScheduler>},
    {"DPMSolverMultistepScheduler", &create<DPMSolverMultistepScheduler>},
    {"EulerAncestralDiscreteScheduler", &create<EulerAncestralDiscreteScheduler>},
    {"EulerDiscreteScheduler", &create<EulerDiscreteScheduler>},
    {"HeunDiscreteScheduler", &create<HeunDiscreteScheduler>},
    {"LCMScheduler", &create<LCMScheduler>},
    {"LMSDiscreteScheduler", &create<LMSDiscreteScheduler>},
    {"PNDMScheduler", &create<PNDMScheduler>},
    {"UniPCMultistepScheduler", &create<UniPCMultistepScheduler>},
};

struct Alias {
  const char* alias;
  const char* class_name;
  bool karras;  // sets use_karras_sigmas
};

constexpr Alias kAliases[] = {
    {"ddim", "DDIMScheduler", false},
    {"pndm", "PNDMScheduler", false},
    {"euler", "EulerDiscreteScheduler", false},
    {"euler_a", "EulerAncestralDiscreteScheduler", false},
    {"dpmpp_2m", "DPMSolverMultistepScheduler", false},
    {"dpmpp_2m_karras", "DPMSolverMultistepScheduler", true},
    {"lms", "LMSDiscreteScheduler", false},
    {"heun", "HeunDiscreteScheduler", false},
    {"unipc", "UniPCMultistepScheduler", false},
    {"lcm", "LCMScheduler", false},
    {"ddpm", "DDPMScheduler", false},
};

nlohmann::json loaded_config(const Config& config) {
  nlohmann::json j = config.json();
  const auto it = j.find("_class_name");
  if (it == j.end() || !it->is_string()) return j;
  const std::string source = it->get<std::string>();
  for (const ClassEntry& e : kClasses) {
    if (source != e.name) continue;
    // The class defaults alone: the file's values are the target's business, not the source's.
    const nlohmann::json defaults =
        e.factory(Config(nlohmann::json::object(), source + " defaults"))->config_json();
    for (const auto& [key, value] : defaults.items())
      if (!j.contains(key)) j[key] = value;
  }
  return j;
}

}  // namespace

std::vector<std::string> scheduler_names() {
  std::vector<std::string> names;
  for (const ClassEntry& e : kClasses) names.push_back(e.name);
  for (const Alias& a : kAliases) names.push_back(a.alias);
  return names;
}

std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const Config& config) {
  std::string class_name = name;
  bool karras = false;
  for (const Alias& a : kAliases)
    if (name == a.alias) {
      class_name = a.class_name;
      karras = a.karras;
    }
  for (const ClassEntry& e : kClasses) {
    if (class_name != e.name) continue;
    nlohmann::json j = loaded_config(config);
    if (karras) j["use_karras_sigmas"] = true;
    return e.factory(Config(std::move(j), config.label()));
  }
  std::string valid;
  for (const std::string& n : scheduler_names()) valid += (valid.empty() ? "" : ", ") + n;
  fail_argument("unknown scheduler '", name, "'; valid: ", valid);
}

int Scheduler::check_steps(int n) const {
  if (n < 1 || n > num_train_timesteps_)
    fail_argument(class_name(), ": num_inference_steps must be in [1, ", num_train_timesteps_, "], got ", n);
  return num_train_timesteps_;
}

}  // namespace sdfast
