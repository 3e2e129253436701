//! VGG16 from torchvision's checkpoint (`vgg16-397923af.pth`, or safetensors under the same
//! names): the convolutions `features.N` and the dense layers `classifier.N`, matched by name.

use std::path::Path;

use burn::module::Param;
use burn::tensor::Device;

use super::WeightsError;
use super::checkpoint::Checkpoint;
use super::layers::{Dense, tensor};
use crate::backbone::Vgg16;

/// torchvision's prefix of each convolution (`features.N`) and dense layer (`classifier.N`) of `net`.
fn prefixes(net: &Vgg16) -> (Vec<String>, Vec<String>) {
    let mut convs = Vec::new();
    // `features` is a Sequential: each convolution is followed by a ReLU, each stage by a MaxPool.
    let mut index = 0;
    for stage in &net.stages {
        for _ in &stage.convs {
            convs.push(format!("features.{index}"));
            index += 2;
        }
        index += 1;
    }
    // `classifier` is Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear.
    let linears = (0..net.classifier.len())
        .map(|i| format!("classifier.{}", 3 * i))
        .collect();
    (convs, linears)
}

/// Every parameter of `net` under torchvision's name, with its shape in the checkpoint
/// (a dense weight is `[out, in]` there, `[in, out]` in Burn).
pub fn vgg16_parameters(net: &Vgg16) -> Vec<(String, Vec<usize>)> {
    let (conv_names, linear_names) = prefixes(net);
    let convs = net.stages.iter().flat_map(|stage| &stage.convs);
    let mut parameters = Vec::new();
    for (name, conv) in conv_names.iter().zip(convs) {
        let weight = conv.weight.dims().to_vec();
        let bias = vec![weight[0]];
        parameters.push((format!("{name}.weight"), weight));
        parameters.push((format!("{name}.bias"), bias));
    }
    for (name, linear) in linear_names.iter().zip(&net.classifier) {
        let d_in = linear
            .blocks
            .iter()
            .map(|block| block.weight.dims()[0])
            .sum();
        let d_out = linear.blocks[0].weight.dims()[1];
        parameters.push((format!("{name}.weight"), vec![d_out, d_in]));
        parameters.push((format!("{name}.bias"), vec![d_out]));
    }
    parameters
}

/// Loads torchvision's VGG16 checkpoint at `path` into `net`. Every name and shape is checked
/// before any value is read, so a wrong file fails fast.
pub fn load_vgg16(net: &mut Vgg16, path: &Path, device: &Device) -> Result<(), WeightsError> {
    let checkpoint = Checkpoint::open(path)?;
    for (name, expected) in vgg16_parameters(net) {
        match checkpoint.shape(&name) {
            None => return Err(WeightsError::MissingTensor { name }),
            Some(found) if found != expected => {
                return Err(WeightsError::ShapeMismatch {
                    name,
                    expected,
                    found: found.to_vec(),
                });
            }
            Some(_) => {}
        }
    }
    let (conv_names, linear_names) = prefixes(net);
    let convs = net.stages.iter_mut().flat_map(|stage| &mut stage.convs);
    for (name, conv) in conv_names.iter().zip(convs) {
        conv.weight =
            Param::from_tensor(tensor(checkpoint.read(&format!("{name}.weight"))?, device));
        conv.bias = Some(Param::from_tensor(tensor(
            checkpoint.read(&format!("{name}.bias"))?,
            device,
        )));
    }
    for (name, linear) in linear_names.iter().zip(&mut net.classifier) {
        // torch's [out, in] is Burn's [in, out], cut into the layer's blocks of input rows.
        let weight = checkpoint.read(&format!("{name}.weight"))?.permute(&[1, 0]);
        let d_out = weight.shape[1];
        let mut rows = weight.values.chunks(d_out);
        for block in &mut linear.blocks {
            let d_in = block.weight.dims()[0];
            let values = rows.by_ref().take(d_in).flatten().copied().collect();
            let part = Dense::new(&weight.name, vec![d_in, d_out], values)?;
            block.weight = Param::from_tensor(tensor(part, device));
        }
        let bias = tensor(checkpoint.read(&format!("{name}.bias"))?, device);
        linear.blocks[0].bias = Some(Param::from_tensor(bias));
    }
    Ok(())
}
