// SPDX-License-Identifier: BSD-2-Clause
// misuse-cxx CASE: the C++ side of tests/misuse (same output protocol as misuse.c):
// mismatched new/delete forms and sized delete with the wrong size, through the
// operators the preloaded allocator exports (libstdc++'s, on top of malloc, otherwise).
//   misuse-cxx --list prints the case names.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <unistd.h>

namespace {

template <typename T> T *launder(T *p)
{
        __asm__ volatile("" : "+r"(p) : : "memory");
        return p;
}

void say(const char *s)
{
        ssize_t w = write(STDOUT_FILENO, s, strlen(s));
        w = write(STDOUT_FILENO, "\n", 1);
        (void)w;
}

// A type with a destructor: new[] puts the element count in front of the array.
struct Counted {
        int v = 7;
        ~Counted() { __asm__ volatile("" : : "r"(v)); }
};

void *seen[32];
int nseen;
bool reported;

void check_new(void *p)
{
        for (int i = 0; i < nseen; i++)
                if (seen[i] == p && !reported) {
                        say("consequence: same block twice");
                        reported = true;
                }
        if (nseen < 32)
                seen[nseen++] = p;
}

void probe(std::size_t n, int k)
{
        for (int i = 0; i < k; i++)
                check_new(::operator new(n));
}

// after a double free of p: p handed out twice, within a few MiB of allocations
void probe_twice(void *p, std::size_t n)
{
        probe(n, 8);
        int times = 0;
        for (int i = 0; i < nseen; i++)
                times += seen[i] == p;
        for (int i = 0; i < 20000 && !reported; i++)
                if (::operator new(n) == p && ++times == 2) {
                        say("consequence: same block twice");
                        reported = true;
                }
}

// new T[4], delete p: operator delete gets the array's address, 8 bytes into the block
void c_delete_on_new_array()
{
        Counted *p = launder(new Counted[4]);
        delete p;
        say("done");
        probe(16, 4);
        probe(48, 4);
        probe(64, 4);
}

// new T, delete[] p: the count is read from the word in front of the object and
// operator delete[] gets an address 8 bytes before the block
void c_delete_array_on_new()
{
        Counted *p = launder(new Counted);
        delete[] p;
        say("done");
        probe(16, 4);
        probe(48, 4);
}

// sized delete with a size of another class (small, then large)
void c_sized_delete_small()
{
        void *p = launder(::operator new(32));
        ::operator delete(p, 256);
        say("done");
        probe(256, 4);
        probe(32, 8);
}

void c_sized_delete_large()
{
        void *p = launder(::operator new(1 << 20));
        ::operator delete(p, 64 << 10);
        say("done");
        probe(64 << 10, 4);
        probe(1 << 20, 4);
}

// double delete of a small object (the operator's own path)
void c_double_delete()
{
        int *p = launder(new int(1));
        delete p;
        delete launder(p);
        say("done");
        probe_twice(p, sizeof(int));
}

struct Case {
        const char *name;
        void (*fn)();
};
const Case cases[] = {
        {"cxx-delete-on-new-array", c_delete_on_new_array},
        {"cxx-delete-array-on-new", c_delete_array_on_new},
        {"cxx-sized-delete-small", c_sized_delete_small},
        {"cxx-sized-delete-large", c_sized_delete_large},
        {"cxx-double-delete", c_double_delete},
};

} // namespace

int main(int argc, char **argv)
{
        if (argc != 2) {
                std::fprintf(stderr, "usage: misuse-cxx CASE | --list\n");
                return 2;
        }
        for (const Case &c : cases) {
                if (std::strcmp(argv[1], "--list") == 0) {
                        std::printf("%s\n", c.name);
                } else if (std::strcmp(argv[1], c.name) == 0) {
                        alarm(10);
                        c.fn();
                        return 0;
                }
        }
        if (std::strcmp(argv[1], "--list") == 0)
                return 0;
        std::fprintf(stderr, "misuse-cxx: unknown case %s\n", argv[1]);
        return 2;
}
