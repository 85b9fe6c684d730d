# Chapter 8, section 8.4 Thread pool > Process pool (プロセスプール)
# EXPECT: none

from concurrent.futures import ProcessPoolExecutor
import time

def cpu_bound_task(n):
    """CPUバウンドな処理"""
    total = 0
    for i in range(n):
        total += i ** 2
    return total

def main():
    numbers = [10_000_000] * 8

    # シングルプロセス
    start = time.time()
    results = [cpu_bound_task(n) for n in numbers]
    print(f"シングルプロセス: {time.time() - start:.2f}秒")

    # プロセスプール
    start = time.time()
    with ProcessPoolExecutor(max_workers=4) as executor:
        results = list(executor.map(cpu_bound_task, numbers))
    print(f"プロセスプール: {time.time() - start:.2f}秒")

if __name__ == "__main__":
    main()
