//===- Error.h - one-line, file-naming errors for bad input ----*- C++ -*-===//
//
// Every frontend reports bad input as an llvm::Error whose message is one line
// of the form "<file>: <what was wrong / what was expected>". The tools print
// it as "qcc: error: <message>" and exit with status 2.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_FRONTENDS_ERROR_H
#define QCC_FRONTENDS_ERROR_H

#include "llvm/Support/Error.h"
#include "llvm/Support/FormatVariadic.h"

namespace qcc {

/// Exit status for every rejected input or bad flag.
constexpr int kBadInputExit = 2;

template <typename... Ts>
llvm::Error fileError(llvm::StringRef file, const char *fmt, Ts &&...vals) {
  std::string msg = (file + ": " +
                     llvm::formatv(fmt, std::forward<Ts>(vals)...).str()).str();
  for (char &c : msg)
    if (c == '\n' || c == '\r')
      c = ' ';
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

} // namespace qcc

#endif
