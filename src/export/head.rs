//! The classifier's end as ONNX nodes: the spatial rows' normalization, the trained head and its
//! softmax, or the KNN head's similarity and vote.

use super::graph::{Attr, Graph};
use super::network::Rows;
use crate::classifier::{Classifier, Head};
use crate::head::{HeadNet, KnnHead, SPATIAL_WEIGHT};
use crate::readback::{DeviceError, read};

/// The row length `[batch, 1]` of `x`, at least 1e-12, as the app's `unit` computes it.
fn length(g: &mut Graph, x: &str) -> String {
    let squares = g.node(
        "ReduceSumSquare",
        &[x],
        vec![("axes", Attr::Ints(vec![1])), ("keepdims", Attr::Int(1))],
    );
    let length = g.node("Sqrt", &[&squares], vec![]);
    let floor = g.constant("epsilon", &[], &[1e-12]);
    g.node("Max", &[&length, &floor], vec![])
}

/// Signed square root, centred on `mean`, unit length, times `weight`.
fn normalize_part(g: &mut Graph, x: &str, mean: &[f32], weight: f32) -> String {
    let sign = g.node("Sign", &[x], vec![]);
    let abs = g.node("Abs", &[x], vec![]);
    let root = g.node("Sqrt", &[&abs], vec![]);
    let signed = g.node("Mul", &[&sign, &root], vec![]);
    let mean = g.constant("mean", &[mean.len()], mean);
    let centred = g.node("Sub", &[&signed, &mean], vec![]);
    let length = length(g, &centred);
    let unit = g.node("Div", &[&centred, &length], vec![]);
    if weight == 1.0 {
        unit
    } else {
        let weight = g.constant("weight", &[], &[weight]);
        g.node("Mul", &[&unit, &weight], vec![])
    }
}

/// What the head reads: the rows as they are, or normalized part by part.
async fn features(
    g: &mut Graph,
    classifier: &Classifier,
    rows: Rows,
) -> Result<String, DeviceError> {
    let Some(norm) = &classifier.norm else {
        return Ok(match rows.map {
            Some(map) => g.node(
                "Concat",
                &[&rows.pooled, &map],
                vec![("axis", Attr::Int(1))],
            ),
            None => rows.pooled,
        });
    };
    let mean = read(norm.mean.val()).await?;
    let (pooled_mean, map_mean) = mean.split_at(norm.pooled.min(mean.len()));
    let pooled = normalize_part(g, &rows.pooled, pooled_mean, 1.0);
    Ok(match rows.map {
        Some(map) => {
            let map = normalize_part(g, &map, map_mean, SPATIAL_WEIGHT);
            g.node("Concat", &[&pooled, &map], vec![("axis", Attr::Int(1))])
        }
        None => pooled,
    })
}

async fn linear(g: &mut Graph, linear: &burn::nn::Linear, x: &str) -> Result<String, DeviceError> {
    // Burn stores the weight as [input, output]: Gemm's B without transposing.
    let weight = g.tensor("weight", linear.weight.val()).await?;
    let mut inputs = vec![x.to_string(), weight];
    if let Some(bias) = &linear.bias {
        inputs.push(g.tensor("bias", bias.val()).await?);
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    Ok(g.node("Gemm", &inputs, vec![]))
}

/// Cosine similarity to the stored rows, then the vote of the `k` nearest, ties going to the
/// larger summed similarity (as [`KnnHead`] votes).
async fn knn(g: &mut Graph, knn: &KnnHead, x: &str) -> Result<String, DeviceError> {
    let center = g.tensor("center", knn.center.val()).await?;
    let centred = g.node("Sub", &[x, &center], vec![]);
    let length = length(g, &centred);
    let unit = g.node("Div", &[&centred, &length], vec![]);
    let memory = g.tensor("memory", knn.memory.val().transpose()).await?;
    let similarity = g.node("MatMul", &[&unit, &memory], vec![]);
    let stored = knn.classes.len();
    let k = g.ints("k", &[knn.k.min(stored) as i64]);
    let nearest = g.node_outputs("TopK", &[&similarity, &k], vec![("axis", Attr::Int(1))], 2);
    let mut one_hot = vec![0.0; stored * knn.num_classes];
    for (row, &class) in knn.classes.iter().enumerate() {
        one_hot[row * knn.num_classes + class] = 1.0;
    }
    let one_hot = g.constant("classes", &[stored, knn.num_classes], &one_hot);
    let chosen = g.node(
        "Gather",
        &[&one_hot, &nearest[1]],
        vec![("axis", Attr::Int(0))],
    );
    let axis1 = g.ints("axis", &[1]);
    let axis2 = g.ints("axis", &[2]);
    let sum_k = |g: &mut Graph, x: &str, keep: i64| {
        g.node(
            "ReduceSum",
            &[x, &axis1],
            vec![("keepdims", Attr::Int(keep))],
        )
    };
    let votes = sum_k(g, &chosen, 0);
    let similarities = g.node("Unsqueeze", &[&nearest[0], &axis2], vec![]);
    let weighted = g.node("Mul", &[&chosen, &similarities], vec![]);
    let weight = sum_k(g, &weighted, 0);
    // Votes are whole numbers and |summed similarity| <= k: votes * 4k + weight orders by votes,
    // then by weight.
    let scale = g.constant("scale", &[], &[4.0 * knn.k.max(1) as f32]);
    let scaled = g.node("Mul", &[&votes, &scale], vec![]);
    let key = g.node("Add", &[&scaled, &weight], vec![]);
    let winner = g.node(
        "ArgMax",
        &[&key],
        vec![("axis", Attr::Int(1)), ("keepdims", Attr::Int(0))],
    );
    let depth = g.ints("depth", &[knn.num_classes as i64]);
    let bonus = g.constant("bonus", &[2], &[0.0, 1e-3]);
    let bonus = g.node(
        "OneHot",
        &[&winner, &depth, &bonus],
        vec![("axis", Attr::Int(-1))],
    );
    let votes = g.node("Add", &[&votes, &bonus], vec![]);
    let total = sum_k(g, &votes, 1);
    Ok(g.node("Div", &[&votes, &total], vec![]))
}

/// Class probabilities `[batch, classes]` from the backbone's rows.
pub async fn probabilities(
    g: &mut Graph,
    classifier: &Classifier,
    rows: Rows,
) -> Result<String, DeviceError> {
    let x = features(g, classifier, rows).await?;
    let logits = match &classifier.head {
        Head::Knn(head) => return knn(g, head, &x).await,
        Head::Trained(HeadNet::Linear(head)) => linear(g, &head.output, &x).await?,
        Head::Trained(HeadNet::Mlp(head)) => {
            let hidden = linear(g, &head.hidden, &x).await?;
            let hidden = g.node("Relu", &[&hidden], vec![]);
            linear(g, &head.output, &hidden).await?
        }
    };
    Ok(g.node("Softmax", &[&logits], vec![("axis", Attr::Int(1))]))
}
