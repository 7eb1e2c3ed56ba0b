// `sdfast serve`: the job queue and its workers.
#include "job_queue.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "api_error.h"
#include "sdfast/error.h"
#include "sdfast/pipeline.h"

namespace sdfast::server {

const char* to_string(JobState s) {
  switch (s) {
    case JobState::Queued: return "queued";
    case JobState::Running: return "running";
    case JobState::Succeeded: return "succeeded";
    case JobState::Failed: return "failed";
    case JobState::Cancelled: return "cancelled";
  }
  return "unknown";
}

namespace {
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

Job::Job(std::string id, ImageSpec spec, bool keep) : id_(std::move(id)), spec_(std::move(spec)), keep_(keep) {}

JobStatus Job::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  JobStatus s;
  s.state = state_;
  s.step = step_;
  s.total_steps = total_;
  const Clock::time_point now = Clock::now();
  const Clock::time_point end = finished_at_ != Clock::time_point{} ? finished_at_ : now;
  if (started_ == Clock::time_point{}) {
    s.queued_s = seconds(end - created_);
  } else {
    s.queued_s = seconds(started_ - created_);
    s.running_s = seconds(end - started_);
  }
  if (state_ == JobState::Running && step_ > 0 && total_ > step_) s.eta_s = s.running_s / step_ * (total_ - step_);
  s.error = error_;
  s.error_status = error_status_;
  return s;
}

std::shared_ptr<const JobOutput> Job::output() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return output_;
}

void Job::cancel(const std::string& why, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!cancel_) {
    error_ = why;
    cancel_status_ = status;
  }
  cancel_ = true;
}

bool Job::cancel_requested() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancel_;
}

bool Job::finished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_ != JobState::Queued && state_ != JobState::Running;
}

bool Job::wait_for(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return done_.wait_for(lock, timeout, [&] { return state_ != JobState::Queued && state_ != JobState::Running; });
}

void Job::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  state_ = JobState::Running;
  started_ = Clock::now();
}

void Job::progress(int step, int total) {
  std::lock_guard<std::mutex> lock(mutex_);
  step_ = step;
  total_ = total;
}

void Job::finish(JobState state, std::shared_ptr<const JobOutput> output, int error_status, std::string error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = state;
    finished_at_ = Clock::now();
    output_ = std::move(output);
    spec_.init_image.reset();
    spec_.mask.reset();
    error_status_ = state == JobState::Cancelled ? cancel_status_ : error_status;
    if (!error.empty()) error_ = std::move(error);
  }
  done_.notify_all();
}

JobQueue::JobQueue(Runner runner, QueueOptions options, Finished on_finished)
    : runner_(std::move(runner)), options_(options), on_finished_(std::move(on_finished)) {
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { work(); });
}

JobQueue::~JobQueue() { shutdown(Clock::duration::zero()); }

std::string JobQueue::new_id_locked() {
  for (;;) {
    char id[40];
    std::snprintf(id, sizeof id, "job-%016llx%016llx", static_cast<unsigned long long>(ids_()),
                  static_cast<unsigned long long>(ids_()));
    if (!jobs_.count(id)) return id;
  }
}

void JobQueue::prune_locked(Clock::time_point now) {
  std::vector<std::pair<Clock::time_point, std::string>> done;
  for (const auto& [id, job] : jobs_) {
    if (!job->kept() || !job->finished()) continue;
    std::lock_guard<std::mutex> lock(job->mutex_);
    done.emplace_back(job->finished_at_, id);
  }
  std::sort(done.begin(), done.end());
  const auto ttl = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.kept_job_ttl_s));
  size_t kept = done.size();
  for (const auto& [when, id] : done) {
    if (now - when < ttl && kept <= options_.max_kept_jobs) break;
    jobs_.erase(id);
    --kept;
  }
}

std::shared_ptr<Job> JobQueue::submit(ImageSpec spec, bool keep) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!accepting_)
      throw ApiError(503, "server_error", "shutting_down", "", "the server is shutting down and takes no new jobs");
    if (waiting_.size() >= options_.max_queue)
      throw ApiError(429, "rate_limit_exceeded", "queue_full", "",
                     "the queue is full (" + std::to_string(waiting_.size()) + " jobs waiting, " +
                         std::to_string(running_.size()) + " running); retry later");
    prune_locked(Clock::now());
    job = std::make_shared<Job>(new_id_locked(), std::move(spec), keep);
    jobs_[job->id()] = job;
    waiting_.push_back(job);
  }
  wake_.notify_one();
  return job;
}

std::shared_ptr<Job> JobQueue::find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second;
}

void JobQueue::forget(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  jobs_.erase(id);  // the queue and the workers hold their own references while it runs
}

size_t JobQueue::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_.size();
}

size_t JobQueue::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_.size();
}

std::vector<std::shared_ptr<Job>> JobQueue::running_jobs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_;
}

int JobQueue::cancel_running(const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& job : running_) job->cancel(why);
  return int(running_.size());
}

bool JobQueue::accepting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return accepting_;
}

int JobQueue::shutdown(Clock::duration grace) {
  int cancelled = 0;
  std::vector<std::shared_ptr<Job>> dropped;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    accepting_ = false;
    changed_.wait_for(lock, grace, [&] { return waiting_.empty() && running_.empty(); });
    for (auto& job : waiting_) dropped.push_back(job);
    waiting_.clear();
    for (const auto& job : running_) {
      job->cancel("the server shut down before the job finished", 503);
      ++cancelled;
    }
    stopping_ = true;
  }
  for (auto& job : dropped) {
    job->cancel("the server shut down before the job started", 503);
    job->finish(JobState::Cancelled, nullptr, 0, "");
    if (on_finished_) on_finished_(*job, job->status());
    ++cancelled;
  }
  wake_.notify_all();
  for (std::thread& t : workers_)
    if (t.joinable()) t.join();
  return cancelled;
}

void JobQueue::work() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping
      job = waiting_.front();
      waiting_.pop_front();
      running_.push_back(job);
    }
    // The job leaves the running list before it is marked finished: whoever sees it finished
    // (a waiting handler) sees the queue without it.
    JobState state = JobState::Cancelled;
    std::shared_ptr<const JobOutput> output;
    int error_status = 0;
    std::string error;
    if (!job->cancel_requested()) {
      job->start();
      try {
        output = std::make_shared<JobOutput>(runner_(job->spec(), [&job](int step, int total) {
          job->progress(step, total);
          return !job->cancel_requested();
        }));
        state = JobState::Succeeded;
      } catch (const Cancelled&) {
        state = JobState::Cancelled;
      } catch (const ApiError& e) {
        std::tie(state, error_status, error) = std::tuple(JobState::Failed, e.status, e.what());
      } catch (const InvalidArgument& e) {
        std::tie(state, error_status, error) = std::tuple(JobState::Failed, 400, e.what());
      } catch (const std::exception& e) {
        std::tie(state, error_status, error) = std::tuple(JobState::Failed, 500, e.what());
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running_.erase(std::find(running_.begin(), running_.end(), job));
    }
    job->finish(state, std::move(output), error_status, std::move(error));
    if (on_finished_) on_finished_(*job, job->status());
    changed_.notify_all();
  }
}

}  // namespace sdfast::server
