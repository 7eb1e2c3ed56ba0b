// libFuzzer harness: a scheduler config as JSON text, as the Python module hands any dict given to
// `SchedulerClass.from_config(config, **overrides)` to Pipeline::set_scheduler(name, config_json).
// Every scheduler class built from it, and asked for its timesteps, must refuse bad values with
// sdfast::Error only (no crash, no unbounded allocation). The first byte picks the step count.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "io/json.h"
#include "schedulers/scheduler.h"

using namespace sdfast;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int steps = 1 + data[0] % 100;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  nlohmann::json j;
  try {
    j = parse_json(text, "'scheduler config'");
  } catch (const Error&) {
    return 0;
  }
  for (const std::string& name : scheduler_names()) {
    try {
      auto scheduler = make_scheduler(name, Config(j, "'scheduler config'"));
      scheduler->set_timesteps(steps);
      (void)scheduler->timesteps();
      (void)scheduler->init_noise_sigma();
      (void)scheduler->config_json();
    } catch (const Error&) {
    }
  }
  return 0;
}
