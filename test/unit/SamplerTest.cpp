//===- SamplerTest.cpp - next-token choice --------------------------------===//
#include "runtime/Sampler.h"

#include <gtest/gtest.h>

#include <map>

using namespace qcc;

TEST(Sampler, GreedyIsArgmax) {
  float l[] = {0.1f, 3.0f, -1.0f, 3.0f};
  Sampler s({});
  EXPECT_EQ(s.next(l, 4), 1); // first of the ties
}

TEST(Sampler, TopKAndTopPRestrictTheChoice) {
  float l[] = {5.0f, 4.9f, 0.0f, -3.0f};
  Sampler k({1.0f, 2, 1.0f, 42});
  std::map<int, int> seen;
  for (int i = 0; i < 500; ++i)
    seen[k.next(l, 4)]++;
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_GT(seen[0], 150);
  EXPECT_GT(seen[1], 150);
  Sampler p({1.0f, 0, 0.3f, 7});
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(p.next(l, 4), 0);
}

TEST(Sampler, SeedIsReproducible) {
  float l[] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  Sampler a({0.8f, 0, 1.0f, 123}), b({0.8f, 0, 1.0f, 123});
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(a.next(l, 5), b.next(l, 5));
}
