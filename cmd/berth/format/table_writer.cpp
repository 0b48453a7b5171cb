// The column-block algorithm of Go's text/tabwriter (format/writeLines), for the flags docker
// uses: a column's width is the widest cell of the block of adjacent lines that have that
// column, plus padding, at least minwidth; widths count UTF-8 characters.

#include "table_writer.hpp"

#include <vector>

namespace berth::cli::format {

namespace {

struct Cell {
    std::string text;
    int width = 0;
};
using Line = std::vector<Cell>;

int utf8_width(std::string_view s) {
    int n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

class Formatter {
public:
    Formatter(const std::vector<Line>& lines, int minwidth, int padding, bool last_open)
        : lines_(lines), minwidth_(minwidth), padding_(padding), last_open_(last_open) {}

    std::string run() {
        format(0, static_cast<int>(lines_.size()));
        return std::move(out_);
    }

private:
    void write_lines(int line0, int line1) {
        for (int i = line0; i < line1; ++i) {
            const Line& line = lines_[static_cast<size_t>(i)];
            for (size_t j = 0; j < line.size(); ++j) {
                const Cell& c = line[j];
                out_ += c.text;
                if (j < widths_.size()) out_.append(static_cast<size_t>(widths_[j] - c.width), ' ');
            }
            if (i + 1 == static_cast<int>(lines_.size()) && last_open_) continue;
            out_ += '\n';
        }
    }

    void format(int line0, int line1) {
        size_t column = widths_.size();
        for (int cur = line0; cur < line1; ++cur) {
            if (column + 1 >= lines_[static_cast<size_t>(cur)].size()) continue;
            write_lines(line0, cur);
            line0 = cur;
            int width = minwidth_;
            for (; cur < line1; ++cur) {
                const Line& line = lines_[static_cast<size_t>(cur)];
                if (column + 1 >= line.size()) break;
                int w = line[column].width + padding_;
                if (w > width) width = w;
            }
            widths_.push_back(width);
            format(line0, cur);
            widths_.pop_back();
            line0 = cur;
            --cur;  // the for loop's ++ must not skip the line that ended the block
        }
        write_lines(line0, line1);
    }

    const std::vector<Line>& lines_;
    int minwidth_;
    int padding_;
    bool last_open_;
    std::vector<int> widths_;
    std::string out_;
};

}  // namespace

std::string TableWriter::flush() {
    std::vector<Line> lines(1);
    std::string cell;
    for (char ch : buf_) {
        if (ch == '\t' || ch == '\n') {
            lines.back().push_back({cell, utf8_width(cell)});
            cell.clear();
            if (ch == '\n') lines.emplace_back();
        } else {
            cell += ch;
        }
    }
    // Text after the last newline is an open line, written without a newline.
    bool last_open = true;
    if (!cell.empty()) {
        lines.back().push_back({cell, utf8_width(cell)});
    } else if (lines.back().empty()) {
        lines.pop_back();
        last_open = false;
    }
    buf_.clear();
    return Formatter(lines, minwidth_, padding_, last_open).run();
}

}  // namespace berth::cli::format
