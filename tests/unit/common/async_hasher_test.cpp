// AsyncHasher: the same digest as a plain hasher, whether the buffers are hashed in the call
// (short ones) or on its thread, and a buffer is free again once the next call returns.
#include "berth/common/async_hasher.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth {
namespace {

TEST(AsyncHasher, EmptyStreamIsTheEmptyDigest) {
    AsyncHasher h;
    EXPECT_EQ(h.finish(), digest_of(""));
    EXPECT_EQ(h.size(), 0u);
}

TEST(AsyncHasher, ShortBuffersAreHashedInTheCall) {
    AsyncHasher h;
    h.update("ab", 2);
    h.update("c", 1);
    EXPECT_EQ(h.size(), 3u);
    EXPECT_EQ(h.finish().string(),
              "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AsyncHasher, TwoBuffersReusedInTurnGiveThePlainDigest) {
    // What TarWriter does: fill one buffer while the other is hashed, reuse each in turn.
    const size_t chunk = AsyncHasher::kInlineBelow * 2 + 17;
    std::string whole;
    std::vector<std::string> bufs(2, std::string(chunk, '\0'));
    AsyncHasher h;
    for (int i = 0; i < 9; ++i) {
        std::string& b = bufs[static_cast<size_t>(i % 2)];
        for (size_t k = 0; k < chunk; ++k) b[k] = static_cast<char>((i * 131 + k * 7) & 0xff);
        whole += b;
        h.update(b.data(), b.size());  // returns once the other buffer is hashed
    }
    h.update("tail", 4);  // short, but the thread is running: still in order
    whole += "tail";
    EXPECT_EQ(h.size(), whole.size());
    EXPECT_EQ(h.finish(), digest_of(whole));
}

TEST(AsyncHasher, WaitFreesTheBufferInFlight) {
    std::string b(AsyncHasher::kInlineBelow, 'x');
    AsyncHasher h;
    h.update(b.data(), b.size());
    h.wait();
    std::string copy = b;
    b.assign(b.size(), 'y');  // no longer read by the hasher
    EXPECT_EQ(h.finish(), digest_of(copy));
}

}  // namespace
}  // namespace berth
