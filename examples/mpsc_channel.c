/*
 * mpsc_channel.c - multi-producer single-consumer channel (CORRECT)
 *
 * Chapter 8, section 8.5 "Shared memory vs message passing" > "Rust
 * ownership and message passing" (Rustの所有権とメッセージパッシング).
 * C port of rust/mpsc_channel.rs (std::sync::mpsc::channel).
 *
 * Two sender threads each send five strings "thread N: i" into an
 * unbounded channel; each sender handle is "dropped" when its thread
 * finishes. main receives until the last sender is gone and the channel is
 * empty (Rust's `for received in rx`). Messages are moved into the channel:
 * after send() the sender no longer touches them. Arrival order between the
 * two senders varies, so main checks and prints a per-sender summary.
 *
 * What concwatch must report: nothing. The message list and the sender
 * count are only touched with chan.lock held; each message is handed from
 * one thread to the other through that lock. One lock, no lock order.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_SENDERS 2
#define MESSAGES_PER_SENDER 5

struct message {
    int sender; /* 1 or 2 */
    int seq;    /* 0..4 */
    char text[32];
    struct message *next;
};

struct mpsc_channel {
    pthread_mutex_t lock;
    pthread_cond_t changed;     /* message queued or a sender dropped */
    struct message *head, *tail; /* unbounded FIFO */
    int senders;                /* live sender handles */
};

struct mpsc_channel chan;

static void channel_init(struct mpsc_channel *c, int senders)
{
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    c->head = c->tail = NULL;
    c->senders = senders;
}

/* tx.send(msg): ownership of msg passes to the channel. */
static void channel_send(struct mpsc_channel *c, struct message *msg)
{
    msg->next = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->tail)
        c->tail->next = msg;
    else
        c->head = msg;
    c->tail = msg;
    pthread_cond_signal(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

/* drop(tx) */
static void channel_drop_sender(struct mpsc_channel *c)
{
    pthread_mutex_lock(&c->lock);
    c->senders--;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

/* rx.recv(): NULL once every sender is gone and nothing is left. */
static struct message *channel_recv(struct mpsc_channel *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->head == NULL && c->senders > 0)
        pthread_cond_wait(&c->changed, &c->lock);
    struct message *msg = c->head;
    if (msg) {
        c->head = msg->next;
        if (c->head == NULL)
            c->tail = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    return msg;
}

static void *sender_thread(void *arg)
{
    int id = *(const int *)arg;
    for (int i = 0; i < MESSAGES_PER_SENDER; i++) {
        struct message *msg = malloc(sizeof *msg);
        if (msg == NULL)
            abort();
        msg->sender = id;
        msg->seq = i;
        snprintf(msg->text, sizeof msg->text, "thread %d: %d", id, i);
        channel_send(&chan, msg); /* msg is moved: not used after this */
    }
    channel_drop_sender(&chan);
    return NULL;
}

int main(void)
{
    static const int ids[NUM_SENDERS] = { 1, 2 };
    pthread_t threads[NUM_SENDERS];
    int next_seq[NUM_SENDERS + 1] = { 0 };
    int in_order = 1, total = 0;

    channel_init(&chan, NUM_SENDERS);
    for (int i = 0; i < NUM_SENDERS; i++)
        pthread_create(&threads[i], NULL, sender_thread, (void *)&ids[i]);

    /* receive */
    struct message *msg;
    while ((msg = channel_recv(&chan)) != NULL) {
        char expected[32];
        snprintf(expected, sizeof expected, "thread %d: %d", msg->sender,
                 next_seq[msg->sender]);
        if (strcmp(msg->text, expected) != 0)
            in_order = 0;
        next_seq[msg->sender]++;
        total++;
        free(msg);
    }

    for (int i = 0; i < NUM_SENDERS; i++)
        pthread_join(threads[i], NULL);
    printf("received %d messages (%d from thread 1, %d from thread 2), "
           "each sender's messages %s\n",
           total, next_seq[1], next_seq[2], in_order ? "in order" : "OUT OF ORDER");
    pthread_cond_destroy(&chan.changed);
    pthread_mutex_destroy(&chan.lock);
    return 0;
}
