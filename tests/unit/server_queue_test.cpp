// `sdfast serve`'s job queue (bounded, cancellable, graceful shutdown), metrics text and key
// comparison, with a stand-in runner (no model).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "api_error.h"
#include "http_server.h"
#include "job_queue.h"
#include "metrics.h"
#include "sdfast/pipeline.h"

namespace sdfast::server {
namespace {

using namespace std::chrono_literals;

// A runner of `steps` steps of `step_ms` each that honours cancellation like Pipeline::generate.
JobQueue::Runner stepping_runner(int steps, int step_ms, std::atomic<int>* runs) {
  return [=](const ImageSpec& spec, const std::function<bool(int, int)>& on_step) {
    ++*runs;
    for (int i = 1; i <= steps; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
      if (!on_step(i, steps)) throw Cancelled();
    }
    JobOutput out;
    out.images.assign(size_t(spec.images), "img");
    return out;
  };
}

int error_of_submit(JobQueue& q) {
  try {
    q.submit(ImageSpec{}, true);
  } catch (const ApiError& e) {
    return e.status;
  }
  return 0;
}

TEST(ServerQueue, RunsJobsAndRefusesBeyondTheQueue) {
  std::atomic<int> runs{0}, finished{0};
  QueueOptions opt;
  opt.workers = 1;
  opt.max_queue = 2;
  JobQueue q(stepping_runner(20, 5, &runs), opt, [&](const Job&, const JobStatus&) { ++finished; });
  auto first = q.submit(ImageSpec{}, true);
  while (first->status().step < 1) std::this_thread::sleep_for(1ms);
  auto a = q.submit(ImageSpec{}, true);
  auto b = q.submit(ImageSpec{}, true);
  EXPECT_EQ(error_of_submit(q), 429);
  for (auto& j : {first, a, b}) {
    ASSERT_TRUE(j->wait_for(10s));
    EXPECT_EQ(j->status().state, JobState::Succeeded);
    EXPECT_EQ(j->output()->images.size(), 1u);
  }
  EXPECT_EQ(runs, 3);
  // The worker calls on_finished after it has released the job's waiters: give it a bounded moment.
  for (int i = 0; i < 2000 && finished < 3; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(finished, 3);
  EXPECT_EQ(q.find(a->id()), a);
  q.forget(a->id());
  EXPECT_EQ(q.find(a->id()), nullptr);
}

TEST(ServerQueue, CancelQueuedAndRunning) {
  std::atomic<int> runs{0};
  QueueOptions opt;
  opt.workers = 1;
  JobQueue q(stepping_runner(1000, 2, &runs), opt, nullptr);
  auto running = q.submit(ImageSpec{}, true);
  auto queued = q.submit(ImageSpec{}, true);
  while (running->status().step < 1) std::this_thread::sleep_for(1ms);
  queued->cancel("test");
  running->cancel("test");
  ASSERT_TRUE(running->wait_for(5s));
  ASSERT_TRUE(queued->wait_for(5s));
  EXPECT_EQ(running->status().state, JobState::Cancelled);
  EXPECT_LT(running->status().step, 1000);
  EXPECT_EQ(queued->status().state, JobState::Cancelled);
  EXPECT_EQ(queued->status().error, "test");
  EXPECT_EQ(running->status().error_status, 409);
  EXPECT_EQ(runs, 1);  // the cancelled queued job never ran
}

TEST(ServerQueue, ShutdownFinishesWithinGraceThenCancels) {
  std::atomic<int> runs{0};
  QueueOptions opt;
  opt.workers = 2;
  {
    JobQueue q(stepping_runner(5, 5, &runs), opt, nullptr);
    auto j = q.submit(ImageSpec{}, true);
    EXPECT_EQ(q.shutdown(10s), 0);
    EXPECT_EQ(j->status().state, JobState::Succeeded);
    EXPECT_EQ(error_of_submit(q), 503);
  }
  JobQueue q(stepping_runner(100000, 1, &runs), opt, nullptr);
  auto j = q.submit(ImageSpec{}, true);
  while (j->status().step < 1) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(q.shutdown(50ms), 1);
  EXPECT_EQ(j->status().state, JobState::Cancelled);
  EXPECT_EQ(j->status().error_status, 503);
}

TEST(ServerQueue, FailuresKeepTheirStatus) {
  QueueOptions opt;
  JobQueue q([](const ImageSpec&, const std::function<bool(int, int)>&) -> JobOutput { throw InvalidArgument("bad size"); },
             opt, nullptr);
  auto j = q.submit(ImageSpec{}, true);
  ASSERT_TRUE(j->wait_for(5s));
  EXPECT_EQ(j->status().state, JobState::Failed);
  EXPECT_EQ(j->status().error_status, 400);
  EXPECT_EQ(j->status().error, "bad size");
}

TEST(ServerMetrics, PrometheusText) {
  Metrics m;
  m.request("/health", 200, 0.001);
  m.request("/v1/images/generations", 429, 0.01);
  m.job("succeeded", 2, 10, 2.0);
  const std::string t = m.text(3, 1, 2, true);
  EXPECT_NE(t.find("sdfast_queue_length 3\n"), std::string::npos);
  EXPECT_NE(t.find("sdfast_http_requests_total{route=\"/v1/images/generations\",status=\"429\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("sdfast_images_total 2\n"), std::string::npos);
  EXPECT_NE(t.find("sdfast_job_steps_per_second_bucket{le=\"5\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("sdfast_http_request_duration_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("sdfast_http_request_duration_seconds_count 2\n"), std::string::npos);
}

TEST(ServerAuth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace sdfast::server
