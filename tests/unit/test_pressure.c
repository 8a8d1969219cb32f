/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the memory-pressure watch's decoder of MEMORY_PRESSURE_WRITE (base64, as
 * systemd writes it: padded, the trigger with its NUL): round trips, whitespace, missing
 * padding, and what must be refused (other characters, data after the padding, stray
 * bits, a result longer than the buffer).
 */
#include <string.h>

#include "../../liballoc/src/bg/pressure.h"

#include "check.h"

static long dec(const char *s, unsigned char *out, size_t cap)
{
        memset(out, 0xee, cap);
        return la_pressure_unbase64(s, out, cap);
}

static void decodes_systemd_triggers(void)
{
        unsigned char b[128];
        /* "some 200000 2000000" and its NUL, as systemd 254 encodes it */
        CHECK_EQ_U(dec("c29tZSAyMDAwMDAgMjAwMDAwMAA=", b, sizeof(b)), 20);
        CHECK(memcmp(b, "some 200000 2000000", 20) == 0);
        CHECK_EQ_U(dec("c29tZSAxNTAwMDAgMjAwMDAwMA==", b, sizeof(b)), 19);
        CHECK(memcmp(b, "some 150000 2000000", 19) == 0);
        CHECK_EQ_U(dec("", b, sizeof(b)), 0);
        CHECK_EQ_U(dec("Zg", b, sizeof(b)), 1); /* padding may be left out */
        CHECK(b[0] == 'f');
        CHECK_EQ_U(dec("Zm9v\nYmFy", b, sizeof(b)), 6); /* whitespace is skipped */
        CHECK(memcmp(b, "foobar", 6) == 0);
        CHECK_EQ_U(dec("+/+/", b, sizeof(b)), 3);
        CHECK(b[0] == 0xfb && b[1] == 0xff && b[2] == 0xbf);
}

static void refuses_what_is_not_base64(void)
{
        unsigned char b[16];
        CHECK(dec("!!notbase64", b, sizeof(b)) < 0);
        CHECK(dec("Zm9v-YmFy", b, sizeof(b)) < 0);  /* url-safe alphabet */
        CHECK(dec("Zg==Zg==", b, sizeof(b)) < 0);   /* data after the padding */
        CHECK(dec("Zh", b, sizeof(b)) < 0);         /* stray bits in the last character */
        CHECK(dec("Z", b, sizeof(b)) < 0);          /* six bits are no byte */
        CHECK(dec("Zm9vYmFyYmF6", b, 8) < 0);      /* 9 bytes into 8 */
        CHECK_EQ_U(dec("Zm9vYmFyYg==", b, 7), 7);  /* 7 into 7 fits */
}

int main(void)
{
        RUN("pressure", decodes_systemd_triggers);
        RUN("pressure", refuses_what_is_not_base64);
        return check_failed_tests != 0;
}
