#pragma once
// Go's text/tabwriter with the settings docker uses for every table (minwidth 10, tabwidth 1,
// padding 3, pad with spaces, no flags): tab-terminated cells are aligned per column block, the
// last cell of a line is written as is.

#include <string>
#include <string_view>

namespace berth::cli::format {

/// Collects text and aligns it on flush(), as tabwriter.Writer does.
class TableWriter {
public:
    TableWriter(int minwidth = 10, int padding = 3) : minwidth_(minwidth), padding_(padding) {}

    /// Appends text (cells end with '\t', lines with '\n').
    void write(std::string_view text) { buf_ += text; }

    /// Returns the aligned text and empties the buffer.
    std::string flush();

private:
    int minwidth_;
    int padding_;
    std::string buf_;
};

}  // namespace berth::cli::format
