#pragma once
// ScopeExit: runs a callable when the scope ends unless release()d (nsjail's `defer`).

#include <utility>

namespace berth {

template <class F>
class ScopeExit {
public:
    explicit ScopeExit(F f) noexcept : f_(std::move(f)) {}
    ScopeExit(const ScopeExit&) = delete;
    ScopeExit& operator=(const ScopeExit&) = delete;
    ~ScopeExit() {
        if (armed_) f_();
    }
    /// Keeps the callable from running: the transaction committed.
    void release() noexcept { armed_ = false; }

private:
    F f_;
    bool armed_ = true;
};

}  // namespace berth
