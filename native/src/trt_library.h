// Finds TensorRT at run time. The addon never links it: libnvinfer and the ONNX parser are opened
// with dlopen, so one build runs on machines with and without TensorRT, and a missing library is an
// explained error rather than an addon that will not load.
#pragma once
#include <string>
#include <vector>

namespace inspectd {

struct LibraryAttempt {
  std::string file;
  std::string error;  // empty when it opened
};

struct TrtProbe {
  bool found = false;        // libnvinfer opened and is usable by this build
  std::string inferPath;     // the file that opened (full path)
  std::string parserPath;    // the ONNX parser, when it opened
  int libraryVersion = 0;    // getInferLibVersion(), e.g. 100300 for 10.3.0
  int headersMajor = 0;      // NV_TENSORRT_MAJOR this addon was compiled against; 0 = no TensorRT code
  std::vector<LibraryAttempt> inferAttempts;
  std::vector<LibraryAttempt> parserAttempts;
  std::string reason;        // why found is false, in a sentence
};

class TrtLibrary {
 public:
  // The process-wide library, opened on first use; later calls return the same result.
  static TrtLibrary& instance();
  const TrtProbe& probe() const { return probe_; }
  // Symbols from the opened libraries (nullptr when absent).
  void* inferSymbol(const char* name) const;
  void* parserSymbol(const char* name) const;

 private:
  TrtLibrary();
  TrtProbe probe_;
  void* infer_ = nullptr;
  void* parser_ = nullptr;
};

}  // namespace inspectd
