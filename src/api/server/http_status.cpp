#include "berth/api/server/http_status.hpp"

namespace berth::api {

int http_status_for(Errc code) noexcept {
    switch (code) {
        case Errc::NotFound:
            return 404;
        case Errc::InvalidArgument:
            return 400;
        case Errc::AlreadyExists:
        case Errc::Conflict:
            return 409;
        case Errc::PermissionDenied:
            return 403;
        case Errc::Unavailable:
            return 503;
        case Errc::Unsupported:
            return 501;
        case Errc::Internal:
            return 500;
    }
    return 500;
}

const char* http_reason(int status) noexcept {
    switch (status) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 204:
            return "No Content";
        case 304:
            return "Not Modified";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 409:
            return "Conflict";
        case 413:
            return "Payload Too Large";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        default:
            return "";
    }
}

}  // namespace berth::api
