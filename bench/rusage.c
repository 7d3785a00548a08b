/* rusage: run a command and write what wait4(2) says it cost.
 *
 *   rusage OUTFILE COMMAND [ARG...]
 *
 * Writes "user_ms=U sys_ms=S maxrss_kib=M status=W" to OUTFILE and exits with the
 * command's exit status (128+signal when killed). bench/measure.py runs commands
 * through it because a process forked by Python starts with Python's resident set as
 * its high-water mark: Linux carries the larger of the old and the new memory's peak
 * over exec (ru_maxrss), so every client measured straight from Python showed at least
 * the ~10 MiB of the interpreter. Forked from this small program instead, a command
 * starts from about 1 MiB.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rusage OUTFILE COMMAND [ARG...]\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) != pid) return 2;
  FILE *f = fopen(argv[1], "w");
  if (f == NULL) return 2;
  fprintf(f, "user_ms=%.3f sys_ms=%.3f maxrss_kib=%ld status=%d\n",
          ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3,
          ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3, ru.ru_maxrss, status);
  fclose(f);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}
