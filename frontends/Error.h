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
  // One printable line: control bytes (from corrupt names) become '?', and a
  // message echoing garbage is cut short.
  for (char &c : msg)
    if ((unsigned char)c < 0x20 || c == 0x7f)
      c = (c == '\n' || c == '\r' || c == '\t') ? ' ' : '?';
  if (msg.size() > 600)
    msg = msg.substr(0, 600) + "...";
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

} // namespace qcc

#endif
