/* SPDX-License-Identifier: MIT */
#pragma once

/* Take the exclusive lock in dir (created 0755), waiting at most timeout_ms. */
int lock_take(const char *dir, unsigned timeout_ms, int *ret_fd);
