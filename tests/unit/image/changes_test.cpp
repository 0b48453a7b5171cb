// --change instructions (docker import/commit): forms, word rules and moby's errors.

#include "berth/image/changes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::image {
namespace {

using Strings = std::vector<std::string>;

oci::ContainerConfig apply(const Strings& changes, oci::ContainerConfig base = {}) {
    auto r = apply_changes(changes, base);
    EXPECT_TRUE(r) << r.error().what();
    return base;
}

std::string error_of(const Strings& changes) {
    oci::ContainerConfig c;
    auto r = apply_changes(changes, c);
    EXPECT_FALSE(r);
    if (r) return {};
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    return r.error().msg;
}

TEST(ChangesTest, NoChangesKeepTheConfig) {
    oci::ContainerConfig c;
    c.cmd = {"sh"};
    EXPECT_EQ(apply({}, c), c);
}

TEST(ChangesTest, CmdAndEntrypointExecAndShellForms) {
    auto c = apply({"CMD [\"/bin/echo\", \"hi \\\"there\\\"\"]"});
    EXPECT_EQ(c.cmd, (Strings{"/bin/echo", "hi \"there\""}));
    c = apply({"cmd echo $HOME  &&  ls"});
    EXPECT_EQ(c.cmd, (Strings{"/bin/sh", "-c", "echo $HOME  &&  ls"}));
    // Not valid JSON: the shell form, verbatim.
    c = apply({"CMD [not json]"});
    EXPECT_EQ(c.cmd, (Strings{"/bin/sh", "-c", "[not json]"}));
    c = apply({"ENTRYPOINT [\"/entry\"]"});
    EXPECT_EQ(c.entrypoint, Strings{"/entry"});
    c = apply({"ENTRYPOINT top -b"});
    EXPECT_EQ(c.entrypoint, (Strings{"/bin/sh", "-c", "top -b"}));
    c = apply({"CMD []"});
    EXPECT_TRUE(c.cmd.empty());
}

TEST(ChangesTest, EntrypointWithoutCmdResetsTheInheritedCmd) {
    oci::ContainerConfig base;
    base.cmd = {"old"};
    auto c = apply({"ENTRYPOINT [\"/e\"]"}, base);
    EXPECT_TRUE(c.cmd.empty());
    c = apply({"CMD [\"new\"]", "ENTRYPOINT [\"/e\"]"}, base);
    EXPECT_EQ(c.cmd, Strings{"new"});
}

TEST(ChangesTest, EnvForms) {
    // Values of one ENV see the environment from before it (Docker: "ENV abc=bye def=$abc"
    // gives def the old abc).
    auto c = apply({"ENV A=1 B=\"two words\" C='$A' D=\"$A-x\" E=a\\ b"});
    EXPECT_EQ(c.env, (Strings{"A=1", "B=two words", "C=$A", "D=-x", "E=a b"}));
    c = apply({"ENV A=1", "ENV A=2 D=$A"});
    EXPECT_EQ(c.env, (Strings{"A=2", "D=1"}));
    // Legacy form: the rest of the line is the value.
    c = apply({"ENV GREETING hello   big world"});
    EXPECT_EQ(c.env, Strings{"GREETING=hello   big world"});
    // Later ENV replaces; expansion sees earlier values; ${} modifiers.
    c = apply({"ENV P=/usr/bin", "ENV P=$P:/opt/bin Q=${MISSING:-dflt} R=${P:+set}"});
    EXPECT_EQ(c.env, (Strings{"P=/usr/bin:/opt/bin", "Q=dflt", "R=set"}));
    c = apply({"ENV X=${P}y"});
    EXPECT_EQ(c.env, Strings{"X=y"});
}

TEST(ChangesTest, LabelForms) {
    auto c = apply({"LABEL a=b \"c d\"=\"e f\"", "LABEL legacy value with spaces"});
    EXPECT_EQ(c.labels.at("a"), "b");
    EXPECT_EQ(c.labels.at("c d"), "e f");
    EXPECT_EQ(c.labels.at("legacy"), "value with spaces");
}

TEST(ChangesTest, ExposeVolumeUserWorkdirStopsignal) {
    auto c = apply({"EXPOSE 80 443/tcp 53/udp 7000-7002", "VOLUME [\"/data\", \"/logs\"]",
                    "VOLUME /cache /data", "USER app:app", "WORKDIR /srv", "WORKDIR web/../www",
                    "STOPSIGNAL SIGQUIT"});
    EXPECT_EQ(c.exposed_ports,
              (Strings{"443/tcp", "53/udp", "7000/tcp", "7001/tcp", "7002/tcp", "80/tcp"}));
    EXPECT_EQ(c.volumes, (Strings{"/cache", "/data", "/logs"}));
    EXPECT_EQ(c.user, "app:app");
    EXPECT_EQ(c.working_dir, "/srv/www");
    EXPECT_EQ(c.stop_signal, "SIGQUIT");
    c = apply({"STOPSIGNAL 9", "WORKDIR rel"});
    EXPECT_EQ(c.stop_signal, "9");
    EXPECT_EQ(c.working_dir, "/rel");
    c = apply({"ENV D=/x", "WORKDIR $D/y"});
    EXPECT_EQ(c.working_dir, "/x/y");
}

TEST(ChangesTest, OnbuildAndHealthcheck) {
    auto c = apply({"ONBUILD RUN make",
                    "HEALTHCHECK --interval=30s --timeout=5s --retries=3 "
                    "--start-period=1m30s CMD curl -f http://localhost/"});
    EXPECT_EQ(c.on_build, Strings{"RUN make"});
    ASSERT_TRUE(c.healthcheck);
    EXPECT_EQ(c.healthcheck->test, (Strings{"CMD-SHELL", "curl -f http://localhost/"}));
    EXPECT_EQ(c.healthcheck->interval, 30'000'000'000);
    EXPECT_EQ(c.healthcheck->timeout, 5'000'000'000);
    EXPECT_EQ(c.healthcheck->start_period, 90'000'000'000);
    EXPECT_EQ(c.healthcheck->retries, 3);
    c = apply({"HEALTHCHECK CMD [\"/check\", \"-q\"]"});
    EXPECT_EQ(c.healthcheck->test, (Strings{"CMD", "/check", "-q"}));
    c = apply({"HEALTHCHECK NONE"});
    EXPECT_EQ(c.healthcheck->test, Strings{"NONE"});
}

TEST(ChangesTest, DockerfileSyntax) {
    // Continuations, comments, blank lines; several instructions in one change string.
    auto c = apply({"# a comment\nENV A=1 \\\n    B=2\n\nCMD [\"x\"]"});
    EXPECT_EQ(c.env, (Strings{"A=1", "B=2"}));
    EXPECT_EQ(c.cmd, Strings{"x"});
}

TEST(ChangesTest, ErrorsNameTheInstruction) {
    EXPECT_EQ(error_of({"FROM busybox"}), "from is not a valid change command");
    EXPECT_EQ(error_of({"RUN true"}), "run is not a valid change command");
    EXPECT_EQ(error_of({"ENV ONLYKEY"}), "ENV: ENV must have two arguments");
    EXPECT_EQ(error_of({"ENV A=1 B"}),
              "ENV: Syntax error - can't find = in \"B\". Must be of the form: name=value");
    EXPECT_EQ(error_of({"LABEL"}), "LABEL: LABEL requires at least one argument");
    EXPECT_EQ(error_of({"EXPOSE abc"}), "EXPOSE: invalid containerPort: abc");
    EXPECT_EQ(error_of({"EXPOSE 80/xyz"}), "EXPOSE: invalid proto: xyz");
    EXPECT_EQ(error_of({"STOPSIGNAL SIGFOO"}), "STOPSIGNAL: Invalid signal: SIGFOO");
    EXPECT_EQ(error_of({"HEALTHCHECK NONE x"}), "HEALTHCHECK: HEALTHCHECK NONE takes no arguments");
    EXPECT_EQ(error_of({"HEALTHCHECK RUN x"}),
              "HEALTHCHECK: Unknown type \"RUN\" in HEALTHCHECK (try CMD)");
    EXPECT_EQ(error_of({"HEALTHCHECK --retries=-1 CMD x"}),
              "HEALTHCHECK: --retries cannot be negative (-1)");
    EXPECT_EQ(error_of({"HEALTHCHECK --interval=1us CMD x"}),
              "HEALTHCHECK: Interval \"interval\" cannot be less than 1ms");
    EXPECT_EQ(error_of({"HEALTHCHECK --bogus=1 CMD x"}), "HEALTHCHECK: Unknown flag: bogus");
    EXPECT_EQ(error_of({"ONBUILD ONBUILD RUN x"}),
              "ONBUILD: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    EXPECT_EQ(error_of({"ONBUILD FROM x"}), "ONBUILD: FROM isn't allowed as an ONBUILD trigger");
    EXPECT_EQ(error_of({"VOLUME [\"\"]"}), "VOLUME: VOLUME specified can not be an empty string");
    EXPECT_EQ(error_of({"ENV A=\"unterminated"}),
              "ENV: unexpected end of statement while looking for matching double-quote");
}

}  // namespace
}  // namespace berth::image
