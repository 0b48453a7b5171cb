#pragma once
// Helpers shared by the logfile tests: a private temp dir and file reading.

#include <stdlib.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "berth/common/fs.hpp"

namespace berth::logfile::test {

/// A fresh directory under /tmp, removed with its contents at the end of the test.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/berth-test-logfile-XXXXXX";
        const char* d = ::mkdtemp(tmpl);
        EXPECT_NE(d, nullptr);
        path_ = d ? d : "";
    }
    ~TempDir() {
        if (!path_.empty()) (void)remove_all(path_);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

/// The lines of a file, without their '\n' (a last line without one is kept too).
inline std::vector<std::string> file_lines(const std::string& path) {
    std::vector<std::string> out;
    auto data = read_file(path);
    if (!data) return out;
    size_t pos = 0;
    while (pos < data->size()) {
        size_t nl = data->find('\n', pos);
        if (nl == std::string::npos) nl = data->size();
        out.push_back(data->substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

}  // namespace berth::logfile::test
