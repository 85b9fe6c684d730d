/*
 * rwlock_table.c - readers-writer lock around a shared table (CORRECT)
 *
 * Chapter 8, section 8.3 "Multithreading" > "Synchronization primitives"
 * (同期プリミティブ: 読み書きロック, "reads: many at once; writes:
 * exclusive"). Not a program in the chapter; added to cover that primitive.
 *
 * One writer updates every entry of `table` to a new version 1000 times
 * under the write lock; three readers repeatedly read the whole table under
 * the read lock (readers may overlap each other) and check that they
 * never see a half-updated table.
 *
 * What concwatch must report: nothing. `table` is written only with
 * table_lock held for writing and read only with it held for reading or
 * writing, so reads and writes never overlap. Readers running together are
 * not a race: they only read.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#define TABLE_SIZE 8
#define NUM_READERS 3
#define UPDATES 1000
#define READS 1000

pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
long table[TABLE_SIZE]; /* all entries hold the same version */

static void *writer(void *arg)
{
    (void)arg;
    for (long version = 1; version <= UPDATES; version++) {
        pthread_rwlock_wrlock(&table_lock); /* exclusive */
        for (int i = 0; i < TABLE_SIZE; i++)
            table[i] = version;
        pthread_rwlock_unlock(&table_lock);
    }
    return NULL;
}

static void *reader(void *arg)
{
    long *torn = arg; /* this reader's own result slot */
    for (int r = 0; r < READS; r++) {
        pthread_rwlock_rdlock(&table_lock); /* shared with other readers */
        for (int i = 1; i < TABLE_SIZE; i++)
            if (table[i] != table[0])
                (*torn)++;
        pthread_rwlock_unlock(&table_lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t w, readers[NUM_READERS];
    long torn[NUM_READERS] = { 0 };

    pthread_create(&w, NULL, writer, NULL);
    for (int i = 0; i < NUM_READERS; i++)
        pthread_create(&readers[i], NULL, reader, &torn[i]);
    pthread_join(w, NULL);
    for (int i = 0; i < NUM_READERS; i++)
        pthread_join(readers[i], NULL);

    long total_torn = 0;
    for (int i = 0; i < NUM_READERS; i++)
        total_torn += torn[i];
    printf("final version %ld, torn reads seen by %d readers: %ld\n", table[0],
           NUM_READERS, total_torn);
    return 0;
}
