"""NLP students: a small BERT from a config (with DistilBERT-style init), the BiLSTM of Tang et al. 2019, and
any pretrained LM / encoder-decoder teacher's architecture made smaller (``student.config``, ``student.init``).

Which losses each student can use:

| student    | tokenizer            | soft-target KL / logit MSE | hidden MSE, attention, cosine |
|------------|----------------------|----------------------------|-------------------------------|
| small_bert | the teacher's        | yes                        | yes, within the limits below  |
| bilstm     | its own word vocab   | yes                        | no: KDError                   |

small_bert's limits: cosine needs an equal hidden size; attention needs equal heads or the head mean.
"""
from kd.nlp.student_model.bilstm import BiLSTMClassifier
from kd.nlp.student_model.from_teacher_config import initialise, student_from_teacher_config
from kd.nlp.student_model.init_from_teacher import alternate_layers, init_from_teacher, init_from_teacher_layers
from kd.nlp.student_model.small_bert import build_small_bert
from kd.nlp.student_model.student_keys import check_student_keys

__all__ = ["BiLSTMClassifier", "alternate_layers", "build_small_bert", "check_student_keys", "init_from_teacher",
           "init_from_teacher_layers", "initialise", "student_from_teacher_config"]
