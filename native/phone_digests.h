#pragma once

#include <cstdint>

namespace audiencehub {

/** The digits of a normalized mainland mobile number. */
constexpr uint32_t PHONE_DIGITS = 11;

/**
 * For numbers [from, to) whose 11 digits are at digits + 11 * j: MD5 to
 * md5 + 16 * j, SHA-256 to sha + 32 * j, SHA-256 of "+86" and the digits to
 * e164 + 32 * j.
 */
void phoneDigests(const uint8_t* digits, uint32_t from, uint32_t to, uint8_t* md5, uint8_t* sha, uint8_t* e164);

}  // namespace audiencehub
