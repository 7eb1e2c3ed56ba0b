// `sdfast serve`: image jobs, a bounded queue of them and the worker threads that run them.
// Every request (a blocking API call or an async /v1/jobs job) becomes a Job here; the queue holds
// at most `max_queue` waiting jobs (submit() refuses more with 429), `workers` threads run them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "image_spec.h"
#include "job_output.h"

namespace sdfast::server {

enum class JobState { Queued, Running, Succeeded, Failed, Cancelled };
const char* to_string(JobState s);

using Clock = std::chrono::steady_clock;

struct JobStatus {
  JobState state = JobState::Queued;
  int step = 0, total_steps = 0;  // model evaluations done / in all (while running)
  double queued_s = 0;            // time spent waiting in the queue
  double running_s = 0;           // time spent running so far
  double eta_s = 0;               // estimated seconds to finish (running jobs)
  int error_status = 0;           // HTTP status of a failure (400: the request, 500: the server)
  std::string error;              // why it failed or was cancelled
};

class Job {
 public:
  Job(std::string id, ImageSpec spec, bool keep);
  const std::string& id() const { return id_; }
  const ImageSpec& spec() const { return spec_; }
  bool kept() const { return keep_; }  // async jobs stay after they finish, for GET /v1/jobs/{id}

  JobStatus status() const;
  // The images once the job succeeded; null before and after a failure.
  std::shared_ptr<const JobOutput> output() const;
  // Asks the job to stop: a queued job never starts, a running one stops within one model step.
  // `status`: the HTTP status a blocking request answers with (409; 503 when the server stops).
  void cancel(const std::string& why, int status = 409);
  bool cancel_requested() const;
  // Waits until the job has finished (succeeded, failed or cancelled) or `timeout` passed.
  bool wait_for(std::chrono::milliseconds timeout) const;
  bool finished() const;

 private:
  friend class JobQueue;
  void start();
  void progress(int step, int total);
  void finish(JobState state, std::shared_ptr<const JobOutput> output, int error_status, std::string error);

  const std::string id_;
  // Constant but for the edit inputs' pixels (init_image, mask), which finish() drops: a kept job
  // holds its result, not its inputs. Only the runner reads them, before the job finishes.
  ImageSpec spec_;
  const bool keep_;
  const Clock::time_point created_ = Clock::now();
  mutable std::mutex mutex_;
  mutable std::condition_variable done_;
  JobState state_ = JobState::Queued;
  Clock::time_point started_{}, finished_at_{};
  int step_ = 0, total_ = 0;
  bool cancel_ = false;
  int cancel_status_ = 409;
  std::string error_;
  int error_status_ = 0;
  std::shared_ptr<const JobOutput> output_;
};

struct QueueOptions {
  int workers = 1;
  size_t max_queue = 16;          // jobs waiting (not running); more are refused with 429
  double kept_job_ttl_s = 600;    // finished async jobs are forgotten this long after they finish
  size_t max_kept_jobs = 1000;    // and the oldest go first beyond this many
};

class JobQueue {
 public:
  // Runs one job: makes the images of `spec`, calling `on_step(step, total)` after every model
  // evaluation; stops (throws sdfast::Cancelled) when on_step returns false.
  using Runner = std::function<JobOutput(const ImageSpec& spec, const std::function<bool(int, int)>& on_step)>;
  // Called once for every job that finishes, from the worker thread (metrics).
  using Finished = std::function<void(const Job& job, const JobStatus& status)>;

  JobQueue(Runner runner, QueueOptions options, Finished on_finished);
  ~JobQueue();  // cancels what is left and joins the workers
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Queues a job. Throws ApiError 429 (queue full, with the queue's length) or 503 (shutting down).
  std::shared_ptr<Job> submit(ImageSpec spec, bool keep);
  std::shared_ptr<Job> find(const std::string& id) const;
  // Drops a job from the lookup table (blocking requests drop theirs once answered or abandoned).
  void forget(const std::string& id);
  size_t queued() const;
  size_t running() const;
  std::vector<std::shared_ptr<Job>> running_jobs() const;
  // Cancels every running job (A1111's interrupt).
  int cancel_running(const std::string& why);
  // Graceful stop: refuses new jobs, lets queued and running ones finish within `grace`, cancels the
  // rest, joins the workers. Returns how many jobs it had to cancel.
  int shutdown(Clock::duration grace);
  bool accepting() const;

 private:
  void work();
  void prune_locked(Clock::time_point now);
  std::string new_id_locked();

  const Runner runner_;
  const QueueOptions options_;
  const Finished on_finished_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;     // workers: a job was queued or stopping
  std::condition_variable changed_;  // shutdown: a job finished
  std::deque<std::shared_ptr<Job>> waiting_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;  // every job not yet forgotten
  std::vector<std::shared_ptr<Job>> running_;
  bool accepting_ = true;
  bool stopping_ = false;
  std::mt19937_64 ids_{std::random_device{}()};
  std::vector<std::thread> workers_;
};

}  // namespace sdfast::server
