// Runs one bench job in a new process: `command` + {"--one", JOB, "--result", FILE}, with the
// child's stdout/stderr going where ours go. The child writes its result JSON to FILE (a fresh
// temporary file, removed afterwards); the parent waits for it.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/job.h"

namespace sdfast::bench {

struct ChildOutcome {
  bool ok = false;
  nlohmann::json result;  // the child's result (ok), or null
  std::string error;      // why it failed (the child's error message when it wrote one)
  double wall_s = 0;      // the whole child process, load included
};

// Throws Error only when the child cannot be started at all (empty command, spawn failure,
// no temporary file); a child that fails is reported in the outcome.
ChildOutcome run_in_child(const std::vector<std::string>& command, const Job& job);

}  // namespace sdfast::bench
