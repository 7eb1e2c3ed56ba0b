#include "lora_args.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "sdfast/error.h"

namespace sdfast::cli {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void bad(const std::string& msg) { throw InvalidArgument(msg); }

bool parse_scale(const std::string& text, double* scale) {
  if (text.empty()) return false;
  char* end = nullptr;
  *scale = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(*scale);
}

void check_scale(double scale, const std::string& what) {
  if (std::fabs(scale) > 100) bad(what + ": the scale must be between -100 and 100, got " + std::to_string(scale));
}

void add_unique(std::vector<LoraRequest>& out, LoraRequest r) {
  for (const LoraRequest& e : out) {
    if (e.file != r.file) continue;
    if (e.scale == r.scale) return;
    bad("LoRA '" + r.label + "' is given with scales " + std::to_string(e.scale) + " and " +
        std::to_string(r.scale) + ": one model state serves the whole batch, give one scale");
  }
  out.push_back(std::move(r));
}

}  // namespace

LoraRequest parse_lora_option(const std::string& spec) {
  LoraRequest r{spec, 1.0, spec};
  const size_t colon = spec.rfind(':');
  double scale = 0;
  if (colon != std::string::npos && parse_scale(spec.substr(colon + 1), &scale)) {
    r.file = spec.substr(0, colon);
    r.scale = scale;
  }
  r.label = fs::path(r.file).filename().string();
  check_scale(r.scale, "--lora " + spec);
  if (r.file.empty()) bad("--lora '" + spec + "': no file named");
  if (!fs::is_regular_file(r.file)) bad("--lora '" + spec + "': no such file '" + r.file + "'");
  return r;
}

std::string take_lora_tags(const std::string& prompt, const std::string& lora_dir, std::vector<LoraRequest>& out) {
  static const std::regex tag("<lora:([^<>]*)>");
  std::string rest;
  auto begin = prompt.cbegin();
  for (std::sregex_iterator it(prompt.begin(), prompt.end(), tag), end; it != end; ++it) {
    const std::smatch& m = *it;
    rest.append(begin, m[0].first);
    begin = m[0].second;
    const std::string body = m[1].str();
    LoraRequest r;
    const size_t colon = body.find(':');
    r.label = body.substr(0, colon);
    if (colon != std::string::npos && !parse_scale(body.substr(colon + 1), &r.scale))
      bad("prompt tag '" + m[0].str() + "': the scale '" + body.substr(colon + 1) + "' is not a number");
    check_scale(r.scale, "prompt tag '" + m[0].str() + "'");
    if (r.label.empty() || r.label.find('/') != std::string::npos || r.label.find('\\') != std::string::npos ||
        r.label.front() == '.')
      bad("prompt tag '" + m[0].str() + "': the name must be a file name in --lora-dir (no '/', not starting with '.')");
    if (lora_dir.empty())
      bad("prompt tag '" + m[0].str() + "': give --lora-dir, the folder where LoRA '" + r.label + "' is found");
    fs::path file = fs::path(lora_dir) / r.label;
    if (file.extension() != ".safetensors") file += ".safetensors";
    if (!fs::is_regular_file(file))
      bad("prompt tag '" + m[0].str() + "': no LoRA file '" + file.string() + "'");
    r.file = file.string();
    add_unique(out, std::move(r));
  }
  rest.append(begin, prompt.cend());
  return rest;
}

std::vector<LoraRequest> resolve_loras(const std::vector<std::string>& options, std::vector<std::string>& prompts,
                                       const std::string& lora_dir) {
  std::vector<LoraRequest> out;
  for (const std::string& spec : options) add_unique(out, parse_lora_option(spec));
  for (std::string& p : prompts) p = take_lora_tags(p, lora_dir, out);
  if (!lora_dir.empty() && !fs::is_directory(lora_dir)) bad("--lora-dir '" + lora_dir + "' is not a folder");
  return out;
}

std::string lora_parameters(const std::vector<LoraRequest>& loras, bool merged) {
  if (loras.empty()) return "";
  std::string s = ", LoRA: ";
  for (size_t i = 0; i < loras.size(); ++i) {
    char scale[32];
    std::snprintf(scale, sizeof scale, "%g", loras[i].scale);
    s += (i ? ", " : "") + loras[i].label + ":" + scale;
  }
  return s + (merged ? " (merged)" : " (unmerged)");
}

}  // namespace sdfast::cli
