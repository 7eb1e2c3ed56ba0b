// `sdfast serve`: the HTTP server (tools/server/) on one loaded model: options, start-up, signals.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "../server/http_server.h"
#include "../server/pipeline_runner.h"
#include "commands.h"
#include "common/demo_model.h"
#include "model_options.h"
#include "sdfast/pipeline.h"
#include "sdfast/system.h"

namespace sdfast::cli {

namespace {

namespace fs = std::filesystem;
using namespace sdfast::server;

struct ServeArgs {
  std::string model;
  ServerOptions server;
  std::string scheduler;
  std::string tiny_vae, vae;
  std::string dtype = "auto";
  std::string vae_dtype;
  std::string variant;
  std::string attention = "flash";
  int threads = 0;
  bool quiet = false;
};

void validate(const ServeArgs& a) {
  const ServerOptions& s = a.server;
  auto bad = [](const std::string& m) { throw InvalidArgument(m); };
  if (s.port < 0 || s.port > 65535) bad("--port must be 0..65535, got " + std::to_string(s.port));
  if (s.queue.workers < 1 || s.queue.workers > 64) bad("--workers must be 1..64, got " + std::to_string(s.queue.workers));
  if (s.queue.max_queue > 100000) bad("--max-queue must be 0..100000");
  if (s.limits.max_side < 8 || s.limits.max_side > 4096 || s.limits.max_side % 8)
    bad("--max-size must be a multiple of 8 from 8 to 4096, got " + std::to_string(s.limits.max_side));
  if (s.limits.max_steps < 1 || s.limits.max_steps > 1000) bad("--max-steps must be 1..1000");
  if (s.limits.max_images < 1 || s.limits.max_images > 64) bad("--max-images must be 1..64");
  if (s.limits.max_body_bytes < 1024 || s.limits.max_body_bytes > (size_t(1) << 30)) bad("--max-body-bytes must be 1024..2^30");
  if (s.limits.max_prompt_bytes < 1 || s.limits.max_prompt_bytes > (size_t(1) << 20)) bad("--max-prompt-bytes must be 1..2^20");
  if (s.read_timeout_s < 1 || s.read_timeout_s > 3600) bad("--read-timeout must be 1..3600 seconds");
  if (!(s.shutdown_grace_s >= 0 && s.shutdown_grace_s <= 3600)) bad("--shutdown-grace must be 0..3600 seconds");
  if (!(s.queue.kept_job_ttl_s >= 1 && s.queue.kept_job_ttl_s <= 86400)) bad("--job-ttl must be 1..86400 seconds");
  if (a.threads < 0 || a.threads > 1024) bad("--threads must be between 0 (all cores) and 1024");
  if (!a.tiny_vae.empty() && !a.vae.empty()) bad("give --tiny-vae or --vae, not both");
  if (!a.scheduler.empty()) {
    const auto names = Pipeline::scheduler_names();
    if (std::find(names.begin(), names.end(), a.scheduler) == names.end())
      bad("--scheduler '" + a.scheduler + "' is not known");
  }
  if (!a.model.empty() && !fs::is_directory(a.model)) bad("--model '" + a.model + "' is not a folder");
}

int run_serve(ServeArgs a) {
  validate(a);
  const bool demo = a.model.empty() || is_bundled_demo(a.model);
  if (a.model.empty()) a.model = bundled_demo_model();
  if (a.server.api_key.empty())
    if (const char* key = std::getenv("SDFAST_API_KEY")) a.server.api_key = key;

  // SIGTERM/SIGINT go to one thread (sigwait below): every thread started from here inherits the
  // mask. A client that disconnects must not kill the server with SIGPIPE.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<PipelineRunner> runner;
  Metrics metrics;
  JobQueue queue(
      [&runner](const ImageSpec& spec, const std::function<bool(int, int)>& on_step) { return runner->run(spec, on_step); },
      a.server.queue, [&metrics](const Job& job, const JobStatus& s) {
        metrics.job(to_string(s.state), job.spec().images, s.total_steps, s.running_s);
      });
  Service service{a.server, ParseContext{a.server.limits, Pipeline::scheduler_names()},
                  fs::path(a.model).filename().string(), 0, queue, metrics};
  service.model_created_unix = int64_t(std::time(nullptr));
  HttpServer http(service);
  const int port = http.bind();  // before loading: a port in use fails at once
  std::cerr << "sdfast serve: listening on http://" << a.server.host << ":" << port << " (model loading)"
            << std::endl;
  std::thread http_thread([&http] { http.listen(); });

  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stopping = true;
    std::cerr << "sdfast serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
              << ": no new connections; running and queued jobs get " << a.server.shutdown_grace_s << " s"
              << std::endl;
    service.ready = false;
    http.stop();
    const int cancelled = queue.shutdown(std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(a.server.shutdown_grace_s)));
    std::cerr << "sdfast serve: stopped (" << cancelled << " unfinished jobs cancelled)" << std::endl;
  });

  int rc = 0;
  try {
    auto pipe = Pipeline::from_pretrained(a.model, pipeline_options({a.dtype, a.vae_dtype, a.variant, a.attention, a.threads}));
    if (!a.tiny_vae.empty()) pipe->set_vae(a.tiny_vae);
    if (!a.vae.empty()) pipe->set_vae(a.vae);
    RequestDefaults defaults;
    defaults.steps = demo ? kDemoSteps : kDefaultSteps;
    defaults.guidance = demo ? kDemoGuidance : kDefaultGuidance;
    const PipelineInfo info = pipe->info();
    runner = std::make_unique<PipelineRunner>(std::move(pipe), defaults, a.scheduler);
    if (!stopping) service.ready = true;
    if (!a.quiet)
      std::cerr << "sdfast serve: ready: " << info.path << " (" << info.dtype << ", " << info.unet_class << ", "
                << info.default_width << "x" << info.default_height << ") loaded in " << info.load_s << " s; "
                << a.server.queue.workers << " workers, queue " << a.server.queue.max_queue << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "sdfast: error: " << e.what() << std::endl;
    rc = dynamic_cast<const InvalidArgument*>(&e) ? 2 : 1;
    kill(getpid(), SIGTERM);  // the signal thread stops the server
  }
  http_thread.join();
  if (!stopping) kill(getpid(), SIGTERM);  // listen() ended on its own: stop the queue too
  signal_thread.join();
  return rc;
}

}  // namespace

void add_serve_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "HTTP server: OpenAI images API, A1111 sdapi, async jobs, metrics.");
  ServerOptions& s = a->server;
  cmd->add_option("--model", a->model, "Diffusers pipeline folder (default: the bundled demo model)");
  cmd->add_option("--host", s.host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
  cmd->add_option("--port", s.port, "Port (0: any free port, printed)")->capture_default_str();
  cmd->add_option("--workers", s.queue.workers, "Jobs generated at the same time")->capture_default_str();
  cmd->add_option("--max-queue", s.queue.max_queue, "Jobs waiting beyond the running ones; more get 429")->capture_default_str();
  cmd->add_option("--api-key", s.api_key, "Require 'Authorization: Bearer KEY' (also $SDFAST_API_KEY)");
  cmd->add_option("--cors", s.cors_origin, "Send CORS headers allowing this origin (none by default)");
  cmd->add_option("--max-size", s.limits.max_side, "Largest width/height a request may ask for")->capture_default_str();
  cmd->add_option("--max-steps", s.limits.max_steps, "Most steps a request may ask for")->capture_default_str();
  cmd->add_option("--max-images", s.limits.max_images, "Most images per request")->capture_default_str();
  cmd->add_option("--max-body-bytes", s.limits.max_body_bytes, "Largest request body (413 beyond)")->capture_default_str();
  cmd->add_option("--max-prompt-bytes", s.limits.max_prompt_bytes, "Longest prompt (413 beyond)")->capture_default_str();
  cmd->add_option("--read-timeout", s.read_timeout_s, "Seconds a client may stay silent mid-request")->capture_default_str();
  cmd->add_option("--shutdown-grace", s.shutdown_grace_s, "SIGTERM: seconds jobs get to finish before they are cancelled")->capture_default_str();
  cmd->add_option("--job-ttl", s.queue.kept_job_ttl_s, "Seconds a finished async job stays readable")->capture_default_str();
  cmd->add_option("--scheduler", a->scheduler, "Default scheduler (requests may choose another)");
  cmd->add_option("--tiny-vae", a->tiny_vae, "AutoencoderTiny (TAESD) folder to decode with");
  cmd->add_option("--vae", a->vae, "Another VAE component folder");
  cmd->add_option("--dtype", a->dtype, "auto, f32 or bf16")->check(CLI::IsMember({"auto", "f32", "bf16"}))->capture_default_str();
  cmd->add_option("--vae-dtype", a->vae_dtype, "VAE precision: auto, f32 or bf16")->check(CLI::IsMember({"auto", "f32", "bf16"}));
  cmd->add_option("--variant", a->variant, "Weights variant, e.g. fp16");
  cmd->add_option("--attention", a->attention, "flash or naive")->check(CLI::IsMember({"flash", "naive"}))->capture_default_str();
  cmd->add_option("--threads", a->threads, "Threads per run (0: all cores)")->capture_default_str();
  cmd->add_flag("--quiet,-q", a->quiet, "Only errors and the listening line");
  cmd->callback([a, &run] { run = [a] { return run_serve(*a); }; });
}

}  // namespace sdfast::cli
