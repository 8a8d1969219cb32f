/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the memory-pressure watch's decoder of MEMORY_PRESSURE_WRITE (base64, as
 * systemd writes it: padded, the trigger with its NUL): round trips, whitespace, missing
 * padding, and what must be refused (other characters, data after the padding, stray
 * bits, a result longer than the buffer).
 */
#include <string.h>

#include "../../liballoc/src/bg/pressure.h"

#include "../common/check.h"

static long dec(const char *s, unsigned char *out, size_t cap)
{
        memset(out, 0xee, cap);
        return la_pressure_unbase64(s, out, cap);
}

static void decodes_systemd_triggers(void)
{
        unsigned char b[128];
        /* "some 200000 2000000" and its NUL, as systemd 254 encodes it */
        EXPECT_EQ(dec("c29tZSAyMDAwMDAgMjAwMDAwMAA=", b, sizeof(b)), 20);
        EXPECT(memcmp(b, "some 200000 2000000", 20) == 0);
        EXPECT_EQ(dec("c29tZSAxNTAwMDAgMjAwMDAwMA==", b, sizeof(b)), 19);
        EXPECT(memcmp(b, "some 150000 2000000", 19) == 0);
        EXPECT_EQ(dec("", b, sizeof(b)), 0);
        EXPECT_EQ(dec("Zg", b, sizeof(b)), 1); /* padding may be left out */
        EXPECT(b[0] == 'f');
        EXPECT_EQ(dec("Zm9v\nYmFy", b, sizeof(b)), 6); /* whitespace is skipped */
        EXPECT(memcmp(b, "foobar", 6) == 0);
        EXPECT_EQ(dec("+/+/", b, sizeof(b)), 3);
        EXPECT(b[0] == 0xfb && b[1] == 0xff && b[2] == 0xbf);
}

static void refuses_what_is_not_base64(void)
{
        unsigned char b[16];
        EXPECT(dec("!!notbase64", b, sizeof(b)) < 0);
        EXPECT(dec("Zm9v-YmFy", b, sizeof(b)) < 0);  /* url-safe alphabet */
        EXPECT(dec("Zg==Zg==", b, sizeof(b)) < 0);   /* data after the padding */
        EXPECT(dec("Zh", b, sizeof(b)) < 0);         /* stray bits in the last character */
        EXPECT(dec("Z", b, sizeof(b)) < 0);          /* six bits are no byte */
        EXPECT(dec("Zm9vYmFyYmF6", b, 8) < 0);      /* 9 bytes into 8 */
        EXPECT_EQ(dec("Zm9vYmFyYg==", b, 7), 7);  /* 7 into 7 fits */
}

int main(void)
{
        RUN("unit/pressure", decodes_systemd_triggers);
        RUN("unit/pressure", refuses_what_is_not_base64);
        return check_finish();
}
