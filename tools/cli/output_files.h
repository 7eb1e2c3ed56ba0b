// Where `generate` (img2img, inpaint) writes: numbered PNG, JPEG or WebP files in an output folder,
// never overwriting anything.
#pragma once

#include <string>
#include <vector>

#include "sdfast/image.h"

namespace sdfast::cli {

class OutputFolder {
 public:
  // Creates the folder if needed and checks that files can be created in it (InvalidArgument if not).
  explicit OutputFolder(const std::string& dir, ImageFormat format = ImageFormat::Png);
  // Removes the folders the constructor created if nothing was written into them (a run that fails
  // leaves no trace).
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;
  // Writes `NNNNN-<suffix>.png` (.jpg, .webp) with the next free number; returns the path written.
  // `text` goes into PNG files only.
  std::string write(const Image& image, const std::string& suffix, const std::vector<PngText>& text);

 private:
  std::string dir_;
  ImageFormat format_;
  // Removes the folders in created_ that are empty, deepest first.
  void remove_created() const;

  std::vector<std::string> created_;  // folders this object created, deepest first
  int next_ = 0;
};

// Writes a text file through a temporary file and a rename.
void write_text_file_atomic(const std::string& path, const std::string& text);

}  // namespace sdfast::cli
