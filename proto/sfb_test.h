/* sfb_test.h - shared includes for cmocka module tests (cmocka needs these before it). */
#ifndef SFB_TEST_H
#define SFB_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#endif
