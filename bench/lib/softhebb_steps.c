/* SoftHebb's network timed through the library (bench/lib/softhebb_steps.h). */
#include "bench/lib/softhebb_steps.h"

const ceiling_layer softhebb_layers[SOFTHEBB_LAYERS] = {
    {"conv1", true, 3, 36, 36, 96, 5, 5, 0, false},     /* 32×32 reflect-padded by 2 */
    {"conv2", true, 96, 18, 18, 384, 3, 3, 0, false},   /* 16×16 padded by 1 */
    {"conv3", true, 384, 10, 10, 1536, 3, 3, 0, false}, /* 8×8 padded by 1 */
    {"classifier", false, 1536 * 4 * 4, 1, 1, 10, 0, 0, 0, true}};

hg_status softhebb_steps_init(softhebb_steps *s, uint64_t seed) {
  *s = (softhebb_steps){.net = hg_net_softhebb(3, 32, 10, NULL, seed)};
  hg_plasticity rules[HG_MAX_RULES];
  hg_status st = s->net ? hg_net_set_modes(s->net, "HHH-G") : hg_last_status();
  int n = st == HG_OK ? hg_plasticity_parse_list(SOFTHEBB_RULES, rules, HG_MAX_RULES) : -1;
  if (n < 0) return hg_last_status();
  hg_trainer_opts to = {.backprop = hg_adam_opts(1e-3f, 0.0f), .adam = true, .hebb_lr = 1e-3f};
  s->trainer = hg_trainer_new_rules(s->net, rules, n, &to);
  return s->trainer ? HG_OK : hg_last_status();
}

void softhebb_steps_free(softhebb_steps *s) {
  hg_trainer_free(s->trainer);
  hg_net_free(s->net);
  *s = (softhebb_steps){0};
}

hg_status softhebb_forward(softhebb_steps *s, hg_tensor *x) {
  bool grad = hg_set_grad_enabled(false);
  hg_tensor *y = hg_net_forward(s->net, x, false);
  hg_set_grad_enabled(grad);
  hg_status st = y ? HG_OK : hg_last_status();
  hg_tensor_free(y);
  hg_net_clear_outputs(s->net);
  return st;
}

hg_status softhebb_hebbian_step(softhebb_steps *s, hg_tensor *x, const int *labels, float *loss) {
  hg_step_stats st;
  hg_status status = hg_trainer_step(s->trainer, x, labels, x->shape[0], HG_PHASE_HEBB, &st);
  *loss = st.hebb_loss;
  return status;
}
