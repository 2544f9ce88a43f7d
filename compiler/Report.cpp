//===- Report.cpp - what the quantization passes decided, per tensor ------===//
#include "compiler/Report.h"
#include "frontends/AtomicFile.h"
#include "dialects/qcc/QccDialect.h"
#include "frontends/Error.h"
#include "formats/ggml/TensorNames.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>

using namespace llvm;
namespace q = ::mlir::qcc;

namespace qcc {

namespace {
/// "blk.3.attn_q.weight" -> "attn_q"
std::string kindOf(const std::string &gguf) {
  StringRef s(gguf);
  if (s.consume_front("blk.")) {
    s = s.split('.').second;
    return s.split('.').first.str();
  }
  return s.split('.').first.str();
}

std::string svg(const std::map<std::string, std::map<int, double>> &series, int layers) {
  const int W = 760, H = 360, L = 70, R = 150, T = 30, B = 50;
  double lo = INFINITY, hi = -INFINITY;
  for (auto &[k, m] : series)
    for (auto &[l, e] : m)
      if (e > 0) {
        lo = std::min(lo, std::log10(e));
        hi = std::max(hi, std::log10(e));
      }
  if (!(lo <= hi))
    lo = -4, hi = -1;
  lo = std::floor(lo), hi = std::ceil(hi);
  if (hi == lo)
    hi = lo + 1;
  auto x = [&](double l) { return L + (W - L - R) * (layers > 1 ? l / (layers - 1) : 0.5); };
  auto y = [&](double e) { return T + (H - T - B) * (hi - std::log10(e)) / (hi - lo); };
  std::string o;
  raw_string_ostream s(o);
  s << formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << formatv("<text x=\"{0}\" y=\"18\">relative output error on the calibration inputs, per layer</text>\n", L);
  for (double d = lo; d <= hi; d += 1) {
    s << formatv("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:f1}\" y2=\"{2:f1}\" stroke=\"#ddd\"/>\n", L, W - R, y(std::pow(10, d)));
    s << formatv("<text x=\"{0}\" y=\"{1:f1}\" text-anchor=\"end\">1e{2}</text>\n", L - 6, y(std::pow(10, d)) + 4, int(d));
  }
  for (int l = 0; l < layers; ++l)
    s << formatv("<text x=\"{0:f1}\" y=\"{1}\" text-anchor=\"middle\">{2}</text>\n", x(l), H - B + 16, l);
  s << formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">layer</text>\n", (L + W - R) / 2, H - 12);
  const char *colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  int ci = 0;
  for (auto &[k, m] : series) {
    const char *c = colors[ci % 8];
    std::string pts;
    for (auto &[l, e] : m)
      if (e > 0)
        pts += formatv("{0:f1},{1:f1} ", x(l), y(e)).str();
    s << formatv("<polyline fill=\"none\" stroke=\"{0}\" stroke-width=\"2\" points=\"{1}\"/>\n", c, pts);
    for (auto &[l, e] : m)
      if (e > 0)
        s << formatv("<circle cx=\"{0:f1}\" cy=\"{1:f1}\" r=\"3\" fill=\"{2}\"/>\n", x(l), y(e), c);
    s << formatv("<rect x=\"{0}\" y=\"{1}\" width=\"12\" height=\"12\" fill=\"{2}\"/>"
                 "<text x=\"{3}\" y=\"{4}\">{5}</text>\n",
                 W - R + 12, T + 18 * ci, c, W - R + 30, T + 18 * ci + 11, k);
    ++ci;
  }
  s << "</svg>\n";
  return o;
}
} // namespace

Error writeReport(mlir::ModuleOp module, const std::string &path) {
  json::Array tensors;
  std::map<std::string, std::map<int, double>> series;
  int layers = 0;
  module.walk([&](q::WeightOp w) {
    if (w->hasAttr("qcc.record"))
      return;
    std::string hf = w.getSymName().str(), gguf = ggml::ggufName(hf).value_or(hf);
    int layer = ggml::layerOf(hf);
    layers = std::max(layers, layer + 1);
    json::Object t{{"name", hf}, {"gguf_name", gguf}, {"layer", layer}};
    json::Array shape;
    for (int64_t d : w.getTensorType().getShape())
      shape.push_back(d);
    t["shape"] = std::move(shape);
    if (auto qa = w.getQuantAttr())
      t["format"] = qa.getFormat().empty() || qa.getFormat() == "int"
                        ? formatv("{0}:{1}:g{2}{3}", qa.getFormat().empty() ? "rtn" : "int",
                                  qa.getBits(), qa.getGroup(), qa.getSymmetric() ? ":sym" : "")
                              .str()
                        : qa.getFormat().str();
    if (auto m = w->getAttrOfType<mlir::StringAttr>("qcc.method"))
      t["method"] = m.getValue().str();
    if (auto e = w->getAttrOfType<mlir::FloatAttr>("qcc.calib_error")) {
      t["calib_error"] = e.getValueAsDouble();
      if (layer >= 0)
        series[kindOf(gguf)][layer] = e.getValueAsDouble();
    }
    if (auto e = w->getAttrOfType<mlir::FloatAttr>("qcc.sensitivity_error"))
      t["budget_error_estimate"] = e.getValueAsDouble();
    if (auto d = w->getAttrOfType<mlir::FloatAttr>("qcc.gptq_damp"))
      t["gptq_damp"] = d.getValueAsDouble();
    if (auto d = w->getAttrOfType<mlir::IntegerAttr>("qcc.gptq_damp_escalations"))
      t["gptq_damp_escalations"] = d.getInt();
    t["awq_scaled"] = w->hasAttr("qcc.awq_scale");
    tensors.push_back(std::move(t));
  });
  json::Object root{{"tensors", std::move(tensors)}};
  if (auto c = module->getAttrOfType<mlir::DictionaryAttr>("qcc.calibration")) {
    json::Object cal;
    for (auto a : c) {
      if (auto s = dyn_cast<mlir::StringAttr>(a.getValue()))
        cal[a.getName().str()] = s.getValue().str();
      else if (auto i = dyn_cast<mlir::IntegerAttr>(a.getValue()))
        cal[a.getName().str()] = i.getInt();
    }
    root["calibration"] = std::move(cal);
  }
  if (auto b = module->getAttrOfType<mlir::FloatAttr>("qcc.bpw"))
    root["bpw"] = b.getValueAsDouble();
  if (auto p = module->getAttrOfType<mlir::StringAttr>("qcc.ggml_preset"))
    root["preset"] = p.getValue().str();
  std::string text;
  raw_string_ostream os(text);
  os << formatv("{0:2}", json::Value(std::move(root))) << "\n";
  os.flush();
  SmallString<256> svgPath(path);
  sys::path::replace_extension(svgPath, "svg");
  if (svgPath == path)
    svgPath += ".svg";
  if (auto e = writeFileAtomically(svgPath.str().str(), svg(series, std::max(layers, 1))))
    return e;
  return writeFileAtomically(path, text);
}

} // namespace qcc
