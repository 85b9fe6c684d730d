# Chapter 8, section 8.2 Multiprocess > Creating a process with fork (プロセスの作成（fork）)
# EXPECT: none

import os

def main():
    print(f"親プロセス: PID={os.getpid()}")

    pid = os.fork()

    if pid == 0:
        # 子プロセス
        print(f"子プロセス: PID={os.getpid()}, 親PID={os.getppid()}")
    else:
        # 親プロセス
        print(f"親プロセス: 子プロセスのPID={pid}")
        os.waitpid(pid, 0)  # 子プロセスの終了を待つ

if __name__ == "__main__":
    main()
