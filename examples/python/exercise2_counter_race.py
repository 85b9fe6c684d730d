# Chapter 8, section 8 Exercises > Exercise 2, race condition to explain and fix (練習問題 2)
# EXPECT: data-race var=counter

import threading

counter = 0

def increment():
    global counter
    for _ in range(100000):
        counter += 1

threads = [threading.Thread(target=increment) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()

print(counter)  # 400000にならない！
