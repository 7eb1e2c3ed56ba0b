#include <iostream>
#include <memory>

#include "commands.h"
#include "golden/golden.h"
#include "sdfast/system.h"

namespace sdfast::cli {

// Exit status of a run skipped because SDFAST_ISA asks for more than the CPU has (CTest's
// SKIP_RETURN_CODE).
constexpr int kSkipped = 77;

void add_golden_command(CLI::App& app, Runner& run) {
  struct Args {
    std::vector<std::string> paths;
    GoldenOptions options;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "golden", "Run golden reference cases (case folders or folders of case folders) and compare.");
  cmd->add_option("cases", args->paths, "Case folders, or folders holding case folders")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--dtype", args->options.dtype,
                  "Model precision: f32 (judged by each case's atol/rtol) or bf16 (judged by "
                  "relative error)")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--bf16-max-rel", args->options.bf16_max_rel,
                  "bf16: largest relative error max|got-want|/max|want| that passes")
      ->capture_default_str();
  cmd->add_option("--threads", args->options.threads, "Threads (0: all cores)")->capture_default_str();
  cmd->add_flag("--verbose", args->options.verbose, "Name the worst output of passing cases too");
  cmd->callback([args, &run] {
    run = [args] {
      // A variant forced above what this CPU runs is not tested by running another one.
      if (!kernel_variant_capped().empty()) {
        std::cout << "SKIPPED: " << kernel_variant_capped() << "\n";
        return kSkipped;
      }
      std::cout << "kernel variant " << kernel_variant() << "\n";
      auto results = run_golden(args->paths, args->options, std::cout);
      int pass = 0;
      for (const auto& r : results) pass += r.status == "PASS";
      std::cout << pass << "/" << results.size() << " cases pass\n";
      return pass == int(results.size()) ? 0 : 1;
    };
  });
}

}  // namespace sdfast::cli
