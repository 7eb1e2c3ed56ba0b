// The sdfast command-line program: one function per subcommand, each in its own file.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace sdfast::cli {

// Each add_* registers a subcommand on `app` and sets `run` to what executes it when chosen.
// A command returns the process exit status (0 ok, 1 failure, 2 invalid input).
using Runner = std::function<int()>;

void add_golden_command(CLI::App& app, Runner& run);
void add_generate_command(CLI::App& app, Runner& run);
void add_img2img_command(CLI::App& app, Runner& run);  // generate_command.cpp
void add_inpaint_command(CLI::App& app, Runner& run);  // generate_command.cpp
void add_adherence_command(CLI::App& app, Runner& run);
void add_info_command(CLI::App& app, Runner& run);
void add_serve_command(CLI::App& app, Runner& run);
// `argc`/`argv`: the command line, recorded in the benchmark's report.
void add_bench_command(CLI::App& app, Runner& run, int argc, char** argv);

}  // namespace sdfast::cli
