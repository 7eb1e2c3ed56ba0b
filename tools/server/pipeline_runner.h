// `sdfast serve`: runs image jobs on the one loaded Pipeline (the JobQueue's Runner).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "image_spec.h"
#include "job_output.h"
#include "request_limits.h"
#include "sdfast/pipeline.h"

namespace sdfast::server {

class PipelineRunner {
 public:
  // `default_scheduler`: "" (the model's) or a name set_scheduler takes.
  PipelineRunner(std::unique_ptr<Pipeline> pipeline, RequestDefaults defaults, std::string default_scheduler);

  // Makes the images of `spec` (Pipeline::generate), encoded in the requested format with the
  // A1111-style parameters text in PNG files. Thread-safe; `on_step(step, total)` returning false
  // cancels (throws sdfast::Cancelled).
  JobOutput run(const ImageSpec& spec, const std::function<bool(int, int)>& on_step);

  const PipelineInfo& info() const { return pipeline_->info(); }
  const RequestDefaults& defaults() const { return defaults_; }

 private:
  GenerateRequest make_request(const ImageSpec& spec) const;

  const std::unique_ptr<Pipeline> pipeline_;
  const RequestDefaults defaults_;
  const std::string default_scheduler_;  // the server's --scheduler, else the model's own class
};

}  // namespace sdfast::server
