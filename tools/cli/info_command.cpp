// `sdfast info`: the CPU, its features, the kernel variant chosen, oneDNN's ISA and version, threads.
#include <iostream>
#include <memory>

#include "commands.h"
#include "sdfast/system.h"

namespace sdfast::cli {

void add_info_command(CLI::App& app, Runner& run) {
  auto* cmd = app.add_subcommand("info", "Show the CPU, the kernel variant sdfast runs on it and oneDNN's ISA");
  struct Args {
    bool json = false;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_flag("--json", a->json, "Print JSON instead of lines of text");
  cmd->add_option("--threads", a->threads, "Threads (0: all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  cmd->callback([a, &run] {
    run = [a] {
      std::cout << (a->json ? machine_report_json(a->threads) + "\n" : machine_report(a->threads));
      return 0;
    };
  });
}

}  // namespace sdfast::cli
