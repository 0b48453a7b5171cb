#pragma once
// The image tests' fixture: a non-durable ImageService over a fresh temporary root, removed
// after each test. Tests derive from it and add their own helpers.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "berth/common/fs.hpp"
#include "berth/image/image_service.hpp"

namespace berth::image::test {

class ImageServiceFixture : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-test-imgsvc-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        tmp_ = tmpl;
        root_ = tmp_ + "/root";
        reopen();
    }
    void TearDown() override {
        svc_.reset();
        ASSERT_TRUE(remove_all(tmp_));
    }

    /// (Re)opens the service over root_ (what a daemon restart does).
    void reopen() {
        svc_.reset();
        ImageServiceOptions o;
        o.durable = false;
        o.preserve_ownership = ::geteuid() == 0;
        auto s = ImageService::open(root_, o);
        ASSERT_TRUE(s) << s.error().what();
        svc_ = std::move(*s);
    }

    std::string tmp_, root_;
    std::unique_ptr<ImageService> svc_;
    int counter_ = 0;  ///< for the tests' unique names
};

}  // namespace berth::image::test
