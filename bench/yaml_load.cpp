// The floor for `bulwarkctl validate`, as a whole process: read a policy file and parse it
// with YAML::Load, nothing else (bench/run-compile-bench.sh prints validate / this).
//
//   yaml_load FILE
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[1]);
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    auto root = YAML::Load(text.str());
    return root["rules"].size() > 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}
