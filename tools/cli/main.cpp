// sdfast: Stable Diffusion inference on the CPU. See README.md.
#include <iostream>

#include "commands.h"
#include "sdfast/error.h"
#include "sdfast/system.h"

int main(int argc, char** argv) {
  CLI::App app{"sdfast: Stable Diffusion inference for CPUs (Diffusers model folders)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sdfast ") + sdfast::version());
  sdfast::cli::Runner run;
  sdfast::cli::add_generate_command(app, run);
  sdfast::cli::add_img2img_command(app, run);
  sdfast::cli::add_inpaint_command(app, run);
  sdfast::cli::add_golden_command(app, run);
  sdfast::cli::add_adherence_command(app, run);
  sdfast::cli::add_info_command(app, run);
  sdfast::cli::add_serve_command(app, run);
  sdfast::cli::add_bench_command(app, run, argc, argv);
  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      const int rc = app.exit(e);
      return rc == 0 ? 0 : 2;
    }
    return run ? run() : 0;
  } catch (const sdfast::InvalidArgument& e) {
    std::cerr << "sdfast: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "sdfast: error: " << e.what() << "\n";
    return 1;
  }
}
