// `sdfast serve`: runs image jobs on the one loaded Pipeline (the JobQueue's Runner).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
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

  // Makes the images of `spec` (Pipeline::generate: from text, or from the spec's init image and
  // mask for image-to-image and inpainting), encoded in the requested format with the
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

  // ---------------------------------------------------------------------------------------------
  // ISSUE 13 (one loaded model, many concurrent runs) has not landed: Pipeline::generate and
  // set_scheduler must not run concurrently on one Pipeline yet. This mutex serialises them; it is
  // the server's only such lock. When issue 13 merges, remove it (and give each run its scheduler
  // through the request instead of set_scheduler) and the worker pool runs jobs concurrently.
  std::mutex generate_mutex_;
  std::string current_scheduler_;  // guarded by generate_mutex_
  // ---------------------------------------------------------------------------------------------
};

}  // namespace sdfast::server
