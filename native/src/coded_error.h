// An error that crosses into JavaScript with a stable code from src/errors.ts.
#pragma once
#include <napi.h>
#include <stdexcept>
#include <string>

namespace inspectd {

class CodedError : public std::runtime_error {
 public:
  CodedError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

inline Napi::Error toJsError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

inline Napi::Error toJsError(Napi::Env env, const CodedError& e) { return toJsError(env, e.code(), e.what()); }

// Runs body; a CodedError (or any std::exception) becomes a thrown JS Error with its code.
template <typename Fn>
auto guarded(Napi::Env env, Fn&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const CodedError& e) {
    throw toJsError(env, e);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw toJsError(env, "INSPECTD_INFER", "out of host memory");
  } catch (const std::exception& e) {
    throw toJsError(env, "INSPECTD_INFER", e.what());
  }
}

}  // namespace inspectd
