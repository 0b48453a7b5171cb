// Container names and IDs (moby daemon/names.go, pkg/stringid, pkg/namesgenerator). The word
// lists are Berth's own; the rules around them are moby's.

#include "berth/container/names.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>

namespace berth::container {
namespace {

// Adjectives, roughly 100.
constexpr std::string_view kAdjectives[] = {
    "admiring",    "adoring",     "affectionate",  "agitated",   "amazing",    "amused",
    "angry",       "awesome",     "beautiful",     "blissful",   "bold",       "boring",
    "brave",       "brisk",       "busy",          "calm",       "candid",     "charming",
    "cheerful",    "clever",      "compassionate", "competent",  "confident",  "cool",
    "cranky",      "curious",     "daring",        "dazzling",   "determined", "diligent",
    "distracted",  "dreamy",      "eager",         "ecstatic",   "elastic",    "elated",
    "elegant",     "eloquent",    "epic",          "exciting",   "fervent",    "festive",
    "flamboyant",  "focused",     "friendly",      "frosty",     "funny",      "gallant",
    "gentle",      "gifted",      "goofy",         "gracious",   "great",      "happy",
    "heuristic",   "hopeful",     "humble",        "hungry",     "infallible", "inspiring",
    "intelligent", "interesting", "jolly",         "jovial",     "jubilant",   "keen",
    "kind",        "laughing",    "lively",        "loving",     "lucid",      "magical",
    "merry",       "modest",      "musing",        "nervous",    "nice",       "nifty",
    "nimble",      "nostalgic",   "objective",     "optimistic", "patient",    "peaceful",
    "pensive",     "plucky",      "practical",     "priceless",  "quirky",     "quizzical",
    "radiant",     "relaxed",     "serene",        "sharp",      "sleepy",     "spirited",
    "steady",      "stoic",       "tender",        "upbeat",     "vibrant",    "vigilant",
    "witty",       "zealous",
};

// Surnames of scientists, engineers and hackers, roughly 150.
constexpr std::string_view kSurnames[] = {
    "agnesi",      "allen",      "archimedes",    "aryabhata",    "babbage",
    "backus",      "banach",     "bardeen",       "bartik",       "bassi",
    "bell",        "bhabha",     "bhaskara",      "blackwell",    "bohr",
    "boole",       "booth",      "borg",          "bose",         "bragg",
    "brahmagupta", "brattain",   "burnell",       "cannon",       "cantor",
    "carson",      "cerf",       "chandrasekhar", "chebyshev",    "church",
    "clarke",      "cohen",      "cori",          "cray",         "crick",
    "curie",       "darwin",     "dijkstra",      "dirac",        "easley",
    "edison",      "einstein",   "elion",         "engelbart",    "euclid",
    "euler",       "faraday",    "feistel",       "fermat",       "fermi",
    "feynman",     "fourier",    "franklin",      "galileo",      "gauss",
    "germain",     "goldberg",   "goldwasser",    "goodall",      "hamilton",
    "hamming",     "hawking",    "heisenberg",    "hellman",      "herschel",
    "hertz",       "hilbert",    "hodgkin",       "hofstadter",   "hopper",
    "huffman",     "hypatia",    "jackson",       "jennings",     "johnson",
    "kalam",       "kahan",      "kapitsa",       "kepler",       "kernighan",
    "khorana",     "kilby",      "knuth",         "kovalevskaya", "lagrange",
    "lamarr",      "lamport",    "laplace",       "leakey",       "leavitt",
    "lederberg",   "liskov",     "lovelace",      "lumiere",      "margulis",
    "matsumoto",   "maxwell",    "mccarthy",      "mcclintock",   "meitner",
    "mendel",      "mendeleev",  "merkle",        "minsky",       "mirzakhani",
    "montalcini",  "moore",      "morse",         "napier",       "nash",
    "neumann",     "newton",     "nightingale",   "nobel",        "noether",
    "noyce",       "pascal",     "pasteur",       "pauli",        "payne",
    "perlman",     "pike",       "planck",        "poincare",     "raman",
    "ramanujan",   "ride",       "riemann",       "ritchie",      "rivest",
    "roentgen",    "rutherford", "saha",          "sammet",       "shamir",
    "shannon",     "shockley",   "somerville",    "stallman",     "stonebraker",
    "sutherland",  "swartz",     "tesla",         "thompson",     "torvalds",
    "turing",      "volta",      "wiles",         "wilkes",       "wing",
    "wirth",       "wozniak",    "wright",        "wu",           "yalow",
    "yonath",
};

/// Fills `buf` from getrandom(2); std::random_device (urandom or RDRAND) if that fails, so an
/// ID is always produced.
void random_bytes(unsigned char* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::getrandom(buf + got, n - got, 0);
        if (r > 0) {
            got += static_cast<size_t>(r);
        } else if (r < 0 && errno != EINTR) {
            std::random_device rd;
            for (; got < n; ++got) buf[got] = static_cast<unsigned char>(rd());
        }
    }
}

size_t system_random_index(size_t n) {
    // Rejection sampling over 64 bits: no modulo bias.
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    for (;;) {
        uint64_t v = 0;
        random_bytes(reinterpret_cast<unsigned char*>(&v), sizeof(v));
        if (v < limit) return static_cast<size_t>(v % n);
    }
}

bool alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

bool valid_container_name(std::string_view name) noexcept {
    if (!name.empty() && name.front() == '/') name.remove_prefix(1);
    if (name.size() < 2 || !alnum(name.front())) return false;
    for (char c : name.substr(1)) {
        if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
    }
    return true;
}

Result<void> validate_container_name(std::string_view name) {
    if (valid_container_name(name)) return {};
    return make_error(Errc::InvalidArgument, "Invalid container name ({}), only {} are allowed",
                      name, kValidContainerNameChars);
}

std::string generate_container_id() {
    static constexpr char kHex[] = "0123456789abcdef";
    for (;;) {
        unsigned char bytes[32];
        random_bytes(bytes, sizeof(bytes));
        std::string id;
        id.reserve(64);
        for (unsigned char b : bytes) {
            id.push_back(kHex[b >> 4]);
            id.push_back(kHex[b & 0xf]);
        }
        bool numeric = true;
        for (size_t i = 0; i < 12; ++i) numeric = numeric && id[i] >= '0' && id[i] <= '9';
        if (!numeric) return id;
    }
}

std::string generate_name(int retry, const RandomIndex& random) {
    std::string name;
    do {
        // Two statements: the draws' order must not depend on operand evaluation order.
        name = std::string(kAdjectives[random(std::size(kAdjectives))]);
        name += '_';
        name += kSurnames[random(std::size(kSurnames))];
    } while (name == "boring_wozniak");
    if (retry > 0) name.push_back(static_cast<char>('0' + random(10)));
    return name;
}

std::string generate_name(int retry) {
    return generate_name(retry, system_random_index);
}

Result<std::string> generate_unique_name(
    std::string_view container_id, const std::function<bool(const std::string&)>& try_reserve) {
    for (int i = 0; i < 6; ++i) {
        std::string name = generate_name(i);
        if (try_reserve(name)) return name;
    }
    std::string short_id(container_id.substr(0, 12));
    if (try_reserve(short_id)) return short_id;
    return make_error(Errc::Conflict, "generate a name for container {}: \"{}\" is taken", short_id,
                      short_id);
}

}  // namespace berth::container
